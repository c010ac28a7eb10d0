//! Bad input to `ceteris bootstrap`: each mistake fails cleanly (a non-zero exit and a message on
//! stderr naming the problem, never a panic), a plot to an unwritable path included.

use super::*;

#[test]
fn bad_input_fails_cleanly_naming_the_problem() {
    let dir = TempDir::new("bad");
    let data_buf = standard_csv(&dir);
    let data: &Path = &data_buf;
    let d = data.to_str().unwrap();
    let nan_buf = dir.write("nan.csv", "a,b\n1,2\n3,4\n5,NaN\n7,8\n");
    let inf_buf = dir.write("inf.csv", "a,b\n1,2\ninf,4\n5,6\n");
    let word_buf = dir.write("word.csv", "a,b\n1,2\n3,four\n");
    let empty_buf = dir.write("empty.csv", "a,b\n");
    let missing_buf = dir.path("does-not-exist.csv");
    let (nan, inf, word, empty, missing): (&Path, &Path, &Path, &Path, &Path) =
        (&nan_buf, &inf_buf, &word_buf, &empty_buf, &missing_buf);
    // --backend cpu and --resamples 200 unless the case sets them itself (clap rejects a flag
    // given twice, which would make the case pass for the wrong reason)
    let boot = |extra: &[&str], file: &Path| -> String {
        let mut args = vec!["bootstrap", "--data", file.to_str().unwrap()];
        if !extra.contains(&"--backend") {
            args.extend(["--backend", "cpu"]);
        }
        if !extra.contains(&"--resamples") {
            args.extend(["--resamples", RESAMPLES]);
        }
        args.extend_from_slice(extra);
        let err = fails(&args);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(
            !err.contains("cannot be used multiple times"),
            "{args:?}: {err}"
        );
        err
    };
    // (extra args, file, substrings the message must contain)
    let cases: Vec<(Vec<&str>, &Path, Vec<&str>)> = vec![
        (vec!["--column", "nope"], data, vec!["nope", "x, y"]),
        (
            vec!["--column", "b"],
            nan,
            vec!["line 4, column `b`: missing value"],
        ),
        (
            vec!["--column", "a"],
            inf,
            vec!["line 3, column `a`: a non-finite value"],
        ),
        (vec!["--column", "b"], word, vec!["word.csv", "four"]),
        (vec!["--column", "a"], empty, vec!["empty.csv"]),
        (vec!["--column", "x"], missing, vec!["does-not-exist.csv"]),
        (
            vec!["--statistic", "mode", "--column", "x"],
            data,
            vec!["mode", "statistic"],
        ),
        (
            vec!["--column", "x", "--resamples", "0"],
            data,
            vec!["resamples"],
        ),
        (vec!["--column", "x", "--level", "1.5"], data, vec!["level"]),
        (
            vec!["--column", "x", "--scheme", "jackknife"],
            data,
            vec!["jackknife"],
        ),
        (
            vec!["--column", "x", "--method", "exact"],
            data,
            vec!["exact"],
        ),
        (
            vec![
                "--column",
                "x",
                "--scheme",
                "moving-block",
                "--block-length",
                "0",
            ],
            data,
            vec!["block-length"],
        ),
        (
            vec![
                "--column",
                "x",
                "--scheme",
                "circular-block",
                "--block-length",
                "500",
            ],
            data,
            vec!["block-length"],
        ),
        (
            vec!["--column", "x", "--scheme", "stationary"],
            data,
            vec!["block-length"],
        ),
        (
            vec!["--column", "x", "--scheme", "stratified"],
            data,
            vec!["strata"],
        ),
        (
            vec!["--column", "x", "--scheme", "cluster", "--cluster", "nope"],
            data,
            vec!["nope"],
        ),
        (
            vec!["--statistic", "quantile:1.5", "--column", "x"],
            data,
            vec!["quantile"],
        ),
        (
            vec![
                "--statistic",
                "diff-means",
                "--treatment",
                "x",
                "--outcome",
                "y",
            ],
            data,
            vec!["`x`"],
        ),
        (
            vec![
                "--statistic",
                "ipw",
                "--treatment",
                "t",
                "--outcome",
                "y",
                "--propensity",
                "x",
            ],
            data,
            vec!["`x`"],
        ),
        (
            vec!["--statistic", "weighted-mean", "--column", "x"],
            data,
            vec!["weights"],
        ),
        (
            vec![
                "--statistic",
                "ols:q",
                "--outcome",
                "y",
                "--covariates",
                "x,z",
            ],
            data,
            vec!["`q`"],
        ),
        (
            vec!["--statistic", "var", "--column", "nope"],
            data,
            vec!["nope"],
        ),
        (vec!["--column", "x", "--backend", "tpu"], data, vec!["tpu"]),
    ];
    for (extra, file, needles) in cases {
        let err = boot(&extra, file);
        for n in needles {
            assert!(err.contains(n), "{extra:?}: stderr lacks `{n}`:\n{err}");
        }
    }
    // argument errors from the parser itself
    let err = fails(&["bootstrap", "--backend", "cpu"]);
    assert!(err.contains("--data"), "{err}");
    let err = fails(&["bootstrap", "--data", d, "--resamples", "-3"]);
    assert!(err.contains("resamples") || err.contains("-3"), "{err}");
    let err = fails(&["frobnicate"]);
    assert!(err.contains("frobnicate"), "{err}");
}

#[test]
fn plot_to_an_unwritable_path_fails_cleanly() {
    let dir = TempDir::new("badplot");
    let data = standard_csv(&dir);
    let svg = dir.path("no-such-folder/out.svg");
    let err = fails(&[
        "bootstrap",
        "--data",
        data.to_str().unwrap(),
        "--backend",
        "cpu",
        "--resamples",
        RESAMPLES,
        "--column",
        "x",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(err.contains("out.svg"), "{err}");
}

/// Issue 14: a flag the chosen statistic or scheme would ignore is an error naming it (before, a
/// `--cluster` without `--scheme cluster` ran a silent iid bootstrap).
#[test]
fn flags_the_run_would_ignore_are_refused() {
    let dir = TempDir::new("ignored");
    let data = standard_csv(&dir);
    let d = data.to_str().unwrap();
    let ipw = [
        "--statistic",
        "ipw",
        "--treatment",
        "t",
        "--outcome",
        "y",
        "--propensity",
        "e",
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--column", "x", "--cluster", "g"], "--cluster"),
        (vec!["--column", "x", "--strata", "t"], "--strata"),
        (
            vec!["--column", "x", "--block-length", "5"],
            "--block-length",
        ),
        (
            vec![
                "--column",
                "x",
                "--scheme",
                "cluster",
                "--cluster",
                "g",
                "--strata",
                "t",
            ],
            "--strata",
        ),
        (
            vec![
                "--column",
                "x",
                "--scheme",
                "stationary",
                "--block-length",
                "5",
                "--cluster",
                "g",
            ],
            "--cluster",
        ),
        (vec!["--column", "x", "--weights", "w"], "--weights"),
        (vec!["--column", "x", "--treatment", "t"], "--treatment"),
        (
            vec![
                "--statistic",
                "diff-means",
                "--treatment",
                "t",
                "--outcome",
                "y",
                "--covariates",
                "z",
            ],
            "--covariates",
        ),
        (
            vec![
                "--statistic",
                "diff-means",
                "--treatment",
                "t",
                "--outcome",
                "y",
                "--column",
                "x",
            ],
            "--column",
        ),
        (
            ipw.iter().copied().chain(["--mu0", "mu0"]).collect(),
            "--mu0",
        ),
        (
            vec!["--statistic", "corr", "--columns", "x,y", "--outcome", "y"],
            "--outcome",
        ),
        (vec!["--column", "x", "--columns", "x,y"], "--column"),
        (
            vec!["--column", "x", "--keep-replicates", "--format", "table"],
            "--keep-replicates",
        ),
        // --clip applies to the IPW family's propensity only
        (vec!["--column", "x", "--clip", "0.05"], "clip"),
    ];
    for (extra, flag) in cases {
        let mut args = vec![
            "bootstrap",
            "--data",
            d,
            "--backend",
            "cpu",
            "--resamples",
            RESAMPLES,
        ];
        args.extend(extra.iter().copied());
        let err = fails(&args);
        assert!(
            err.contains(flag) && err.contains("ignore"),
            "{args:?}: {err}"
        );
    }
}
