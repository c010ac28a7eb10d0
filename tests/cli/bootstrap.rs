//! `ceteris bootstrap`: the documented JSON keys and every interval method, the default methods,
//! kept replicates, the table format, plots, every statistic and every scheme.

use super::*;

const KEYS: [&str; 10] = [
    "statistic",
    "estimate",
    "std_error",
    "bias",
    "resamples",
    "scheme",
    "level",
    "backend",
    "seconds",
    "intervals",
];

/// Keys the README documents beyond the main ten.
const EXTRA_KEYS: [&str; 7] = [
    "valid_resamples",
    "seed",
    "bca",
    "analytic_std_error",
    "fallback",
    "warnings",
    "replicates",
];

#[test]
fn json_output_has_the_documented_keys_and_all_methods() {
    let dir = TempDir::new("json");
    let data = standard_csv(&dir);
    let v = boot_json(
        &data,
        &[
            "--statistic",
            "mean",
            "--column",
            "x",
            "--method",
            "percentile,basic,normal,bca,studentized",
            "--level",
            "0.9",
        ],
    );
    let obj = v.as_object().expect("a JSON object");
    for k in KEYS {
        assert!(obj.contains_key(k), "missing key `{k}` in {v}");
    }
    for k in obj.keys() {
        assert!(
            KEYS.contains(&k.as_str()) || EXTRA_KEYS.contains(&k.as_str()),
            "undocumented key `{k}`"
        );
    }
    assert!(
        !obj.contains_key("replicates"),
        "replicates without --keep-replicates"
    );
    assert_eq!(v["statistic"], "mean");
    assert_eq!(v["scheme"], "iid");
    assert_eq!(v["resamples"].as_u64(), Some(200));
    assert_eq!(v["valid_resamples"].as_u64(), Some(200));
    assert_eq!(v["seed"].as_u64(), Some(11));
    assert_eq!(v["level"].as_f64(), Some(0.9));
    assert!(
        v["backend"].as_str().unwrap().starts_with("cpu"),
        "{}",
        v["backend"]
    );
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);
    assert!(v["std_error"].as_f64().unwrap() > 0.0);
    assert!(v["bias"].as_f64().unwrap().is_finite());

    let x = &columns()[0].1;
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let est = v["estimate"].as_f64().unwrap();
    assert!(
        (est - mean).abs() < 1e-12,
        "estimate {est} vs CSV mean {mean}"
    );

    // the studentized interval's scale: the mean's s/√n (ddof = 1)
    let n = x.len() as f64;
    let se = (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0) / n).sqrt();
    let ase = v["analytic_std_error"].as_f64().unwrap();
    assert!(
        (ase - se).abs() <= 1e-12 * se,
        "analytic_std_error {ase} vs {se}"
    );

    let iv = v["intervals"].as_object().unwrap();
    let mut names: Vec<&str> = iv.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["basic", "bca", "normal", "percentile", "studentized"]
    );
    for (m, pair) in iv {
        let pair = pair.as_array().unwrap();
        assert_eq!(pair.len(), 2, "{m}");
        let (lo, hi) = (pair[0].as_f64().unwrap(), pair[1].as_f64().unwrap());
        assert!(lo < est && est < hi, "{m}: [{lo}, {hi}] around {est}");
    }
    let bca = &v["bca"];
    assert!(
        bca["z0"].is_number() && bca["acceleration"].is_number(),
        "{bca}"
    );
    assert_eq!(bca["levels"].as_array().map(Vec::len), Some(2));
}

#[test]
fn default_methods_are_percentile_and_bca() {
    let dir = TempDir::new("defaults");
    let data = standard_csv(&dir);
    let v = boot_json(&data, &["--column", "x"]);
    assert_eq!(v["statistic"], "mean");
    let mut names: Vec<&String> = v["intervals"].as_object().unwrap().keys().collect();
    names.sort_unstable();
    assert_eq!(names, ["bca", "percentile"]);
}

#[test]
fn keep_replicates_includes_them() {
    let dir = TempDir::new("keep");
    let data = standard_csv(&dir);
    let v = boot_json(&data, &["--column", "x", "--keep-replicates"]);
    assert_eq!(v["replicates"].as_array().map(Vec::len), Some(200));
}

#[test]
fn table_format_prints_estimate_and_methods() {
    let dir = TempDir::new("table");
    let data = standard_csv(&dir);
    let out = boot_ok(
        &data,
        &[
            "--statistic",
            "mean",
            "--column",
            "x",
            "--method",
            "percentile,basic,normal,bca,studentized",
            "--format",
            "table",
        ],
    );
    let s = text(&out.stdout);
    assert!(
        serde_json::from_str::<Value>(&s).is_err(),
        "table output is JSON:\n{s}"
    );
    let x = &columns()[0].1;
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    assert!(
        s.contains(&format!("{mean:.6}")),
        "no estimate {mean:.6} in:\n{s}"
    );
    assert!(s.contains("mean"), "{s}");
    for m in ["percentile", "basic", "normal", "bca", "studentized"] {
        assert!(
            s.lines().any(|l| l.trim_start().starts_with(m)),
            "no `{m}` row in:\n{s}"
        );
    }
}

#[test]
fn plot_writes_an_svg() {
    let dir = TempDir::new("plot");
    let data = standard_csv(&dir);
    let svg = dir.path("out.svg");
    let v = boot_json(
        &data,
        &[
            "--column",
            "x",
            "--method",
            "percentile,bca",
            "--plot",
            svg.to_str().unwrap(),
        ],
    );
    // the plot keeps replicates internally but does not print them unless asked
    assert!(v.get("replicates").is_none());
    let body = std::fs::read_to_string(&svg).expect("the SVG file exists");
    assert!(
        body.trim_start().starts_with("<svg") || body.contains("<svg"),
        "not an SVG: {}",
        &body[..body.len().min(200)]
    );
    assert!(body.trim_end().ends_with("</svg>"), "truncated SVG");

    // table output with a plot too
    let svg2 = dir.path("out2.svg");
    boot_ok(
        &data,
        &[
            "--statistic",
            "median",
            "--column",
            "x",
            "--format",
            "table",
            "--plot",
            svg2.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read_to_string(&svg2).unwrap().contains("<svg"));
}

#[test]
fn every_statistic_runs() {
    let dir = TempDir::new("stats");
    let data = standard_csv(&dir);
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("mean", vec!["--column", "x"]),
        ("var", vec!["--column", "x"]),
        ("std", vec!["--column", "x"]),
        ("median", vec!["--column", "x"]),
        ("quantile:0.9", vec!["--column", "x"]),
        ("weighted-mean", vec!["--column", "x", "--weights", "w"]),
        ("diff-means", vec!["--treatment", "t", "--outcome", "y"]),
        ("ratio-means", vec!["--columns", "y,x"]),
        ("corr", vec!["--columns", "x,y"]),
        ("ols:x", vec!["--outcome", "y", "--covariates", "x,z"]),
        (
            "ols:intercept",
            vec!["--outcome", "y", "--covariates", "x,z"],
        ),
        (
            "ipw",
            vec!["--treatment", "t", "--outcome", "y", "--propensity", "e"],
        ),
        (
            "hajek",
            vec!["--treatment", "t", "--outcome", "y", "--propensity", "e"],
        ),
        (
            "aipw",
            vec![
                "--treatment",
                "t",
                "--outcome",
                "y",
                "--propensity",
                "e",
                "--mu0",
                "mu0",
                "--mu1",
                "mu1",
            ],
        ),
    ];
    let cols = columns();
    let col = |n: &str| &cols.iter().find(|c| c.0 == n).unwrap().1;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for (stat, flags) in cases {
        let mut args = vec![
            "--statistic",
            stat,
            "--method",
            "percentile,basic,normal,bca",
        ];
        args.extend(flags.iter().copied());
        let v = boot_json(&data, &args);
        assert_eq!(v["statistic"], stat, "{v}");
        let est = v["estimate"].as_f64().unwrap_or(f64::NAN);
        assert!(est.is_finite(), "{stat}: estimate {}", v["estimate"]);
        assert!(v["std_error"].as_f64().unwrap() > 0.0, "{stat}: {v}");
        assert_eq!(v["intervals"].as_object().unwrap().len(), 4, "{stat}");
        // a few closed-form checks of the estimate
        let x = col("x");
        let want = match stat {
            "ratio-means" => Some(mean(col("y")) / mean(x)),
            "var" | "std" => {
                let m = mean(x);
                let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (N as f64 - 1.0);
                Some(if stat == "var" { var } else { var.sqrt() })
            }
            "median" | "quantile:0.9" => {
                let q = if stat == "median" { 0.5 } else { 0.9 };
                let mut s = x.clone();
                s.sort_by(f64::total_cmp);
                let h = (N as f64 - 1.0) * q;
                let lo = h.floor() as usize;
                Some(s[lo] + (h - lo as f64) * (s[lo + 1] - s[lo]))
            }
            "weighted-mean" => {
                let w = col("w");
                Some(x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / w.iter().sum::<f64>())
            }
            "diff-means" => {
                let (t, y) = (col("t"), col("y"));
                let arm = |a: f64| {
                    let v: Vec<f64> = (0..N).filter(|&i| t[i] == a).map(|i| y[i]).collect();
                    mean(&v)
                };
                Some(arm(1.0) - arm(0.0))
            }
            _ => None,
        };
        if let Some(want) = want {
            assert!(
                (est - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{stat}: estimate {est}, expected {want}"
            );
        }
    }
}

#[test]
fn every_scheme_runs() {
    let dir = TempDir::new("schemes");
    let data = standard_csv(&dir);
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("iid", vec![]),
        ("stratified", vec!["--strata", "t"]),
        ("cluster", vec!["--cluster", "g"]),
        ("bayesian", vec![]),
        ("poisson", vec![]),
        ("moving-block", vec!["--block-length", "5"]),
        ("circular-block", vec!["--block-length", "5"]),
        ("stationary", vec!["--block-length", "4.5"]),
    ];
    for (scheme, flags) in &cases {
        for stat in [
            vec!["--statistic", "mean", "--column", "x"],
            vec!["--statistic", "median", "--column", "x"],
            vec![
                "--statistic",
                "diff-means",
                "--treatment",
                "t",
                "--outcome",
                "y",
            ],
        ] {
            let mut args = vec!["--scheme", *scheme, "--method", "percentile,bca"];
            args.extend(flags.iter().copied());
            args.extend(stat.iter().copied());
            let v = boot_json(&data, &args);
            assert_eq!(v["scheme"], *scheme, "{v}");
            assert_eq!(v["resamples"].as_u64(), Some(200));
            assert!(v["estimate"].as_f64().unwrap().is_finite(), "{args:?}: {v}");
            let sd = v["std_error"].as_f64().unwrap();
            assert!(sd.is_finite() && sd > 0.0, "{args:?}: std_error {sd}");
            let iv = v["intervals"].as_object().unwrap();
            assert_eq!(iv.len(), 2, "{args:?}");
        }
    }
}

/// `ipw`, `hajek` and `aipw` report how their nuisance models enter (`fixed`), warn that the
/// interval ignores their estimation, and carry the overlap diagnostics; `--clip` clips the
/// propensity and is refused by a statistic without one.
#[test]
fn ipw_family_reports_fixed_nuisance_and_overlap() {
    let dir = TempDir::new("overlap");
    let data = standard_csv(&dir);
    let cols = columns();
    let col = |name: &str| cols.iter().find(|c| c.0 == name).unwrap().1.clone();
    let (t, e) = (col("t"), col("e"));
    for stat in ["ipw", "hajek", "aipw"] {
        let mut args = vec![
            "--statistic",
            stat,
            "--treatment",
            "t",
            "--outcome",
            "y",
            "--propensity",
            "e",
        ];
        if stat == "aipw" {
            args.extend(["--mu0", "mu0", "--mu1", "mu1"]);
        }
        let v = boot_json(&data, &args);
        assert_eq!(v["nuisance"], "fixed", "{stat}");
        let warned = v["warnings"].as_array().unwrap().iter().any(|w| {
            w.as_str()
                .unwrap()
                .contains("ignores the estimation of these nuisance models")
        });
        assert!(warned, "{stat}: {}", v["warnings"]);
        // treated weights 1/e: the closed-form Kish effective sample size
        let w1: Vec<f64> = (0..t.len())
            .filter(|&i| t[i] == 1.0)
            .map(|i| 1.0 / e[i])
            .collect();
        let ess = w1.iter().sum::<f64>().powi(2) / w1.iter().map(|w| w * w).sum::<f64>();
        let got = v["overlap"]["treated"]["effective_sample_size"]
            .as_f64()
            .unwrap();
        assert!((got - ess).abs() < 1e-9 * ess, "{stat}: {got} vs {ess}");
        assert_eq!(v["overlap"]["treated"]["n"], w1.len());
        assert_eq!(v["overlap"]["outside_01_99"], 0);
    }
    // clipping at 0.3 moves every propensity below 0.3 up to it
    let v = boot_json(
        &data,
        &[
            "--statistic",
            "ipw",
            "--treatment",
            "t",
            "--outcome",
            "y",
            "--propensity",
            "e",
            "--clip",
            "0.3",
        ],
    );
    let lo = v["overlap"]["treated"]["min_propensity"].as_f64().unwrap();
    assert_eq!(lo, 0.3);
    // the mean has no propensity to clip, and no nuisance key
    let err = fails(&[
        "bootstrap",
        "--data",
        data.to_str().unwrap(),
        "--statistic",
        "mean",
        "--column",
        "x",
        "--clip",
        "0.1",
    ]);
    assert!(err.contains("clip"), "{err}");
    let v = boot_json(&data, &["--statistic", "mean", "--column", "x"]);
    assert!(v.get("nuisance").is_none() && v.get("overlap").is_none());
}

/// `ipw`, `hajek`, `aipw` and `att` with `--covariates` refit their nuisance models in every
/// resample (`"nuisance": "refit"`, `failed_resamples`); nuisance columns together with
/// `--covariates` are refused, and so are `att` without covariates and `--penalty` without a
/// refit.
#[test]
fn covariates_refit_the_nuisance_models() {
    let dir = TempDir::new("refit");
    let data = standard_csv(&dir);
    for stat in ["ipw", "hajek", "aipw", "att"] {
        let v = boot_json(
            &data,
            &[
                "--statistic",
                stat,
                "--treatment",
                "t",
                "--outcome",
                "y",
                "--covariates",
                "z,x",
                "--method",
                "percentile",
            ],
        );
        assert_eq!(v["nuisance"], "refit", "{stat}");
        assert_eq!(v["statistic"], stat);
        assert!(v["failed_resamples"].as_u64().is_some(), "{stat}: {v}");
        assert!(v["overlap"]["treated"]["n"].as_u64().unwrap() > 0);
    }
    let v = boot_json(
        &data,
        &[
            "--statistic",
            "ipw",
            "--treatment",
            "t",
            "--outcome",
            "y",
            "--covariates",
            "z",
            "--penalty",
            "l2:0.5",
            "--method",
            "percentile",
        ],
    );
    assert_eq!(v["nuisance"], "refit");
    let d = data.to_str().unwrap();
    let base = [
        "bootstrap",
        "--data",
        d,
        "--backend",
        "cpu",
        "--treatment",
        "t",
        "--outcome",
        "y",
    ];
    let fail = |extra: &[&str]| fails(&base.iter().chain(extra).copied().collect::<Vec<_>>());
    let e = fail(&[
        "--statistic",
        "aipw",
        "--covariates",
        "z",
        "--propensity",
        "e",
    ]);
    assert!(
        e.contains("--propensity") && e.contains("--covariates"),
        "{e}"
    );
    let e = fail(&["--statistic", "att"]);
    assert!(e.contains("--covariates"), "{e}");
    let e = fail(&[
        "--statistic",
        "ipw",
        "--propensity",
        "e",
        "--penalty",
        "l2:1",
    ]);
    assert!(e.contains("--penalty"), "{e}");
    let e = fail(&[
        "--statistic",
        "ipw",
        "--covariates",
        "z",
        "--penalty",
        "ridge",
    ]);
    assert!(e.contains("l2:LAMBDA"), "{e}");
}

/// `--trim` and `--clip` act on the refit propensity; `--trim` without a refit is refused.
#[test]
fn trim_and_clip_with_refit() {
    let dir = TempDir::new("trim");
    let data = standard_csv(&dir);
    let refit = [
        "--statistic",
        "aipw",
        "--treatment",
        "t",
        "--outcome",
        "y",
        "--covariates",
        "z",
        "--method",
        "percentile",
    ];
    for extra in [["--trim", "0.05"], ["--clip", "0.05"]] {
        let args: Vec<&str> = refit.iter().chain(&extra).copied().collect();
        let v = boot_json(&data, &args);
        assert_eq!(v["nuisance"], "refit", "{extra:?}");
    }
    let d = data.to_str().unwrap();
    let e = fails(&[
        "bootstrap",
        "--data",
        d,
        "--statistic",
        "ipw",
        "--treatment",
        "t",
        "--outcome",
        "y",
        "--propensity",
        "e",
        "--trim",
        "0.05",
    ]);
    assert!(e.contains("--trim"), "{e}");
}

/// `--crossfit K` cross-fits aipw's refit nuisance models (`"nuisance": "crossfit"`); with another
/// estimator or without `--covariates` the flag would be ignored, so it is refused.
#[test]
fn crossfit_with_aipw_only() {
    let dir = TempDir::new("crossfit");
    let data = standard_csv(&dir);
    let v = boot_json(
        &data,
        &[
            "--statistic",
            "aipw",
            "--treatment",
            "t",
            "--outcome",
            "y",
            "--covariates",
            "z,x",
            "--crossfit",
            "3",
            "--method",
            "percentile",
        ],
    );
    assert_eq!(v["nuisance"], "crossfit");
    assert_eq!(v["crossfit_folds"], 3, "{v}");
    assert!(v["failed_resamples"].as_u64().is_some(), "{v}");
    let d = data.to_str().unwrap();
    let base = [
        "bootstrap",
        "--data",
        d,
        "--backend",
        "cpu",
        "--treatment",
        "t",
        "--outcome",
        "y",
        "--crossfit",
        "3",
    ];
    let fail = |extra: &[&str]| fails(&base.iter().chain(extra).copied().collect::<Vec<_>>());
    let e = fail(&["--statistic", "ipw", "--covariates", "z"]);
    assert!(e.contains("--crossfit") && e.contains("ipw"), "{e}");
    let e = fail(&[
        "--statistic",
        "aipw",
        "--propensity",
        "e",
        "--mu0",
        "mu0",
        "--mu1",
        "mu1",
    ]);
    assert!(
        e.contains("--crossfit") && e.contains("--covariates"),
        "{e}"
    );
    let mut one: Vec<&str> = base[..base.len() - 1].to_vec();
    one.extend(["1", "--statistic", "aipw", "--covariates", "z"]);
    let e = fails(&one);
    assert!(e.contains("crossfit") && e.contains("at least 2"), "{e}");
}

/// `--statistic aipw-att`: refit with `--covariates` (also cross-fitted), fixed with
/// `--propensity --mu0` (`"nuisance": "fixed"` and the warning); `--mu1` is an error in both
/// (the ATT has no treated outcome model), as is a fixed run without `--mu0`.
#[test]
fn aipw_att_refit_fixed_and_misuse() {
    let dir = TempDir::new("aipw-att");
    let data = standard_csv(&dir);
    let common = [
        "--statistic",
        "aipw-att",
        "--treatment",
        "t",
        "--outcome",
        "y",
    ];
    fn with<'a>(common: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        common.iter().chain(extra).copied().collect()
    }
    let with = |extra: &[&'static str]| with(&common, extra);
    let v = boot_json(
        &data,
        &with(&["--covariates", "z,x", "--method", "percentile"]),
    );
    assert_eq!(v["statistic"], "aipw-att", "{v}");
    assert_eq!(v["nuisance"], "refit", "{v}");
    let v = boot_json(
        &data,
        &with(&[
            "--covariates",
            "z,x",
            "--crossfit",
            "3",
            "--method",
            "percentile",
        ]),
    );
    assert_eq!(v["nuisance"], "crossfit", "{v}");
    let v = boot_json(
        &data,
        &with(&[
            "--propensity",
            "e",
            "--mu0",
            "mu0",
            "--method",
            "percentile",
        ]),
    );
    assert_eq!(v["nuisance"], "fixed", "{v}");
    assert!(v["warnings"].to_string().contains("outcome-model"), "{v}");
    let d = data.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec!["bootstrap", "--data", d, "--backend", "cpu"];
        a.extend(common);
        a.extend(extra.iter().copied());
        fails(&a)
    };
    let e = run(&["--propensity", "e", "--mu0", "mu0", "--mu1", "mu1"]);
    assert!(e.contains("--mu1"), "{e}");
    let e = run(&["--covariates", "z", "--mu1", "mu1"]);
    assert!(e.contains("--mu1"), "{e}");
    let e = run(&["--propensity", "e"]);
    assert!(e.contains("--mu0"), "{e}");
    let e = run(&["--propensity", "e", "--mu0", "mu0", "--crossfit", "3"]);
    assert!(e.contains("--crossfit"), "{e}");
}
