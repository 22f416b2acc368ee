from django.urls import path

from trial.staff import views as account_views

app_name = "account"

urlpatterns = [
    path("login/", account_views.login_view, name="login"),
    path("logout/", account_views.logout_view, name="logout"),
    path("second-factor/", account_views.otp_setup, name="otp_setup"),
    path("second-factor/qr.svg", account_views.otp_qr, name="otp_qr"),
    path("password/", account_views.password_change, name="password_change"),
    path("password/done/", account_views.password_change_done, name="password_change_done"),
]
