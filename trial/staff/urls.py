from django.urls import path

from trial.api import pages as api_pages
from trial.staff import views

app_name = "account"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("second-factor/", views.otp_setup, name="otp_setup"),
    path("second-factor/qr.svg", views.otp_qr, name="otp_qr"),
    path("password/", views.password_change, name="password_change"),
    path("password/done/", views.password_change_done, name="password_change_done"),
    path("welcome/<uidb64>/<token>/", views.welcome, name="welcome"),
    path("api-tokens/", api_pages.api_tokens, name="api_tokens"),
    path("api-tokens/<int:token_id>/revoke/", api_pages.api_token_revoke, name="api_token_revoke"),
]
