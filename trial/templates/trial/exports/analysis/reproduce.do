{% autoescape off %}{% with p=config.primary r=config.responder t=config.arms.treated c=config.arms.control %}* {{ config.trial }}: the outcome report's primary and sensitivity analyses, from this export.
* Written by the system with the export (trial.exports.analysis_script). Run it from the
* unpacked export's folder:    do analysis/reproduce.do
* Stata 16 or later. The ANCOVA, Welch's test and the mixed models give the report's figures.
* The multiple imputation draws Stata's own random numbers, so it agrees with the report within
* Monte Carlo error only; the responder interval here is Wald's (prtest), the report's Newcombe's.
* Populations (see the codebook): intention to treat analysed == 1 by arm; as treated
* analysed == 1 by arm_as_treated; per protocol per_protocol == 1 by arm.
version 16
clear all
set more off

capture confirm file "{{ config.files.stata }}"
if _rc == 0 {
    use "{{ config.files.stata }}", clear
    * Coded text is stored as numbers labelled "code: meaning": back to the codes.
    foreach v of varlist arm arm_as_treated{% for col in coded %} {{ col }}{% endfor %} {
        decode `v', generate(`v'_code)
        replace `v'_code = substr(`v'_code, 1, strpos(`v'_code, ":") - 1) if strpos(`v'_code, ":") > 0
        drop `v'
        rename `v'_code `v'
    }
}
else {
    import delimited using "{{ config.files.csv }}", clear varnames(1) stringcols(_all) encoding("utf-8")
    destring analysed per_protocol{% for col in numeric %} {{ col }}{% endfor %}, replace
}

generate byte treat = (arm == "{{ t }}") if inlist(arm, "{{ t }}", "{{ c }}")
generate byte treat_at = (arm_as_treated == "{{ t }}") if inlist(arm_as_treated, "{{ t }}", "{{ c }}")
local covs ""
foreach v in{% for cov in config.covariates %} {{ cov.column }}{% endfor %} {
    encode `v', generate(`v'_n)
    local covs "`covs' i.`v'_n"
}
{% if p.column and p.baseline_column %}
* Primary outcome: {{ p.label }} at {{ p.visit }}, PVP minus conservative care (the coefficient of treat).
* Welch's test: Stata's difference is conservative minus PVP, so its sign is the report's reversed.
* Intention to treat
regress {{ p.column }} treat {{ p.baseline_column }} `covs' if analysed == 1
ttest {{ p.column }} if analysed == 1, by(treat) unequal
* As treated
regress {{ p.column }} treat_at {{ p.baseline_column }} `covs' if analysed == 1
ttest {{ p.column }} if analysed == 1, by(treat_at) unequal
* Per protocol
regress {{ p.column }} treat {{ p.baseline_column }} `covs' if per_protocol == 1
ttest {{ p.column }} if per_protocol == 1, by(treat) unequal

* Missing data, intention to treat: multiple imputation by chained equations (predictive mean
* matching), {{ config.mice.imputations }} imputations, pooled by Rubin's rules.
preserve
keep if analysed == 1 & !missing(treat)
mi set wide
mi register imputed {{ p.column }} {{ p.baseline_column }}
capture noisily mi impute chained (pmm, knn(5)) {{ p.column }} {{ p.baseline_column }} = treat `covs', add({{ config.mice.imputations }}) burnin({{ config.mice.burn_in }}) rseed({{ config.mice.seed }})
capture noisily mi estimate: regress {{ p.column }} treat {{ p.baseline_column }} `covs'
restore
{% endif %}{% if r and r.column and r.baseline_column %}
* Responders: an ODI improvement of at least {{ r.threshold_text }} points at {{ p.visit }}, intention to treat.
generate byte responder = ({{ r.baseline_column }} - {{ r.column }} >= {{ r.threshold }}) if !missing({{ r.baseline_column }}, {{ r.column }})
tabulate responder treat if analysed == 1, column
prtest responder if analysed == 1, by(treat)
{% endif %}{% for m in repeated %}
* Every visit at once: {{ m.label }}, linear mixed model (random intercept per participant, REML),
* intention to treat; the adjusted difference at each visit and the adjusted means.
preserve
keep if analysed == 1 & !missing(treat)
keep trial_number treat {{ m.baseline }}{% for cov in config.covariates %} {{ cov.column }}_n{% endfor %}{% for v in m.visits %} {{ v.column }}{% endfor %}
{% for v in m.visits %}rename {{ v.column }} y{{ forloop.counter }}
{% endfor %}reshape long y, i(trial_number) j(visit)
label define visit_{{ m.measure }}{% for v in m.visits %} {{ forloop.counter }} "{{ v.code }}"{% endfor %}
label values visit visit_{{ m.measure }}
encode trial_number, generate(pid)
capture noisily mixed y i.treat##i.visit {{ m.baseline }} `covs' || pid:, reml
capture noisily margins, dydx(treat) over(visit)
capture noisily margins treat#visit
restore
{% endfor %}{% endwith %}{% endautoescape %}
