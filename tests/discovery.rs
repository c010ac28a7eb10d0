//! Causal discovery: PC-stable and CD-NOD graphs against causal-learn 0.1.4.8
//! (tests/reference/make_discovery_reference.py), Fisher-z p-values against causal-learn's, and
//! the search itself against a d-separation oracle (the CPDAG of the true DAG, exactly).

mod common;
use ceteris::discovery::{EdgeKind, Knowledge, Pc};
use ceteris::independence::{IndependenceTest, Query};
use ceteris::{Dataset, Engine};

fn reference() -> serde_json::Value {
    serde_json::from_str(include_str!("reference/discovery_reference.json")).unwrap()
}

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn usizes(v: &serde_json::Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// The case's data set (columns X1..Xp, plus C for CD-NOD) and its node names.
fn dataset(case: &serde_json::Value) -> (Dataset, Vec<String>) {
    let mut d = Dataset::new();
    let mut names = Vec::new();
    for (j, c) in case["data"].as_array().unwrap().iter().enumerate() {
        let nm = format!("X{}", j + 1);
        d.push_column(&nm, f64s(c)).unwrap();
        names.push(nm);
    }
    if !case["domain"].is_null() {
        d.push_column("C", f64s(&case["domain"])).unwrap();
    }
    (d, names)
}

fn knowledge(case: &serde_json::Value, names: &[String]) -> Knowledge {
    let k = &case["knowledge"];
    let mut out = Knowledge::new();
    if k.is_null() {
        return out;
    }
    for e in k["forbid"].as_array().into_iter().flatten() {
        let e = usizes(e);
        out = out.forbid(&names[e[0]], &names[e[1]]);
    }
    for e in k["require"].as_array().into_iter().flatten() {
        let e = usizes(e);
        out = out.require(&names[e[0]], &names[e[1]]);
    }
    if let Some(tiers) = k["tiers"].as_array() {
        let tiers: Vec<Vec<&str>> = tiers
            .iter()
            .map(|t| usizes(t).iter().map(|&i| names[i].as_str()).collect())
            .collect();
        let refs: Vec<&[&str]> = tiers.iter().map(|t| t.as_slice()).collect();
        out = out.tiers(&refs);
    }
    out
}

fn marks(case: &serde_json::Value) -> Vec<i8> {
    case["graph"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap() as i8)
        })
        .collect()
}

#[test]
fn graphs_match_causal_learn() {
    let doc = reference();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let engine = Engine::cpu();
    let mut differ = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (data, names) = dataset(case);
        let test = match case["test"].as_str().unwrap() {
            "fisherz" => IndependenceTest::fisher_z(),
            "kci" => IndependenceTest::kci(),
            t => panic!("unknown test {t}"),
        };
        let cols: Vec<&str> = names.iter().map(String::as_str).collect();
        let domain = (!case["domain"].is_null()).then_some("C");
        let r = Pc::new(test)
            .alpha(case["alpha"].as_f64().unwrap())
            .knowledge(knowledge(case, &names))
            .domain(domain)
            .run(&engine, &data, &cols)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // same graph unless a decision was within 1e-4 of alpha (none is, in these cases)
        assert!(
            r.borderline.is_empty(),
            "{name}: borderline {:?}",
            r.borderline
        );
        let theirs = marks(case);
        let p = r.nodes.len();
        if r.marks() != theirs.as_slice() {
            differ.push(name.to_string());
        }
        // causal-learn's ancestor record (not transitively closed) is mirrored, so even where its
        // Meek rules close a directed cycle the graphs agree (fisherz_13 here)
        if name == "fisherz_13" {
            assert!(has_directed_cycle(&theirs, p), "{name}");
        }
        if domain.is_some() {
            let p = r.nodes.len();
            let expect: Vec<String> = (0..p - 1)
                .filter(|&j| marks(case)[j * p + p - 1] != 0)
                .map(|j| names[j].clone())
                .collect();
            assert_eq!(r.changing.as_ref().unwrap(), &expect, "{name}");
            // and they are the nodes whose mechanism the generator shifted with the domain
            let truth: Vec<String> = usizes(&case["changing"])
                .iter()
                .map(|&j| names[j].clone())
                .collect();
            assert_eq!(r.changing.as_ref().unwrap(), &truth, "{name}");
        }
    }
    assert!(differ.is_empty(), "graphs differ: {differ:?}");
}

/// Whether the directed edges of an endpoint-mark matrix contain a cycle.
fn has_directed_cycle(m: &[i8], p: usize) -> bool {
    let directed = |i: usize, j: usize| m[i * p + j] == -1 && m[j * p + i] == 1;
    // Kahn's algorithm on the directed part
    let mut indeg: Vec<usize> = (0..p)
        .map(|j| (0..p).filter(|&i| directed(i, j)).count())
        .collect();
    let mut queue: Vec<usize> = (0..p).filter(|&j| indeg[j] == 0).collect();
    let mut seen = 0;
    while let Some(i) = queue.pop() {
        seen += 1;
        for j in (0..p).filter(|&j| directed(i, j)) {
            indeg[j] -= 1;
            if indeg[j] == 0 {
                queue.push(j);
            }
        }
    }
    seen < p
}

#[test]
fn fisher_z_p_values_match_causal_learn() {
    let doc = reference();
    let engine = Engine::cpu();
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap() {
        if case["test"] != "fisherz" || !case["domain"].is_null() {
            continue;
        }
        let (data, names) = dataset(case);
        let tester =
            ceteris::independence::Tester::new(&engine, &data, IndependenceTest::fisher_z());
        for row in case["pvalues"].as_array().unwrap() {
            let row = row.as_array().unwrap();
            let (a, b) = (
                row[0].as_u64().unwrap() as usize,
                row[1].as_u64().unwrap() as usize,
            );
            let z: Vec<&str> = usizes(&row[2]).iter().map(|&i| names[i].as_str()).collect();
            let want = row[3].as_f64().unwrap();
            let got = tester.test(&[&names[a]], &[&names[b]], &z).unwrap().p_value;
            // causal-learn's 2(1 − Φ) carries ~1e-16 absolute rounding; inverse vs Cholesky
            // solves differ by ~1e-13 relative in r
            assert!(
                (got - want).abs() <= 1e-10,
                "{}: {a},{b}|{z:?}: {got} vs {want}",
                case["name"]
            );
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked}");
}

/// d-separation of x and y given z in a DAG (parent lists): x and y are disconnected in the
/// moral graph of the ancestral set of {x, y} ∪ z once z is removed.
fn d_separated(parents: &[Vec<usize>], x: usize, y: usize, z: &[usize]) -> bool {
    let p = parents.len();
    let mut anc = vec![false; p];
    let mut stack: Vec<usize> = z.iter().copied().chain([x, y]).collect();
    while let Some(v) = stack.pop() {
        if !std::mem::replace(&mut anc[v], true) {
            stack.extend(parents[v].iter().copied());
        }
    }
    let mut adj = vec![vec![false; p]; p];
    for c in (0..p).filter(|&c| anc[c]) {
        for (i, &a) in parents[c].iter().enumerate() {
            adj[a][c] = true;
            adj[c][a] = true;
            for &b in &parents[c][i + 1..] {
                adj[a][b] = true;
                adj[b][a] = true;
            }
        }
    }
    let mut seen = vec![false; p];
    let mut stack = vec![x];
    while let Some(v) = stack.pop() {
        if v == y {
            return false;
        }
        if std::mem::replace(&mut seen[v], true) {
            continue;
        }
        stack.extend((0..p).filter(|&u| adj[v][u] && anc[u] && !z.contains(&u) && !seen[u]));
    }
    true
}

/// A DAG on `p` nodes from a small LCG: node j's parents among 0..j with probability `prob`.
fn random_dag(p: usize, prob: f64, seed: u64) -> Vec<Vec<usize>> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut u = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..p)
        .map(|j| (0..j).filter(|_| u() < prob).collect())
        .collect()
}

#[test]
fn oracle_search_recovers_the_true_cpdag() {
    // with a perfect test, PC-stable returns exactly the CPDAG of the true DAG (SHD 0)
    for seed in 0..40u64 {
        let p = 4 + (seed as usize % 9);
        let dag = random_dag(p, 0.2 + 0.05 * (seed % 5) as f64, seed);
        let names: Vec<String> = (0..p).map(|i| format!("v{i}")).collect();
        let idx = |s: &String| names.iter().position(|n| n == s).unwrap();
        let oracle = |qs: &[Query]| {
            qs.iter()
                .map(|(x, y, z)| {
                    let z: Vec<usize> = z.iter().map(idx).collect();
                    Ok(if d_separated(&dag, idx(&x[0]), idx(&y[0]), &z) {
                        1.0
                    } else {
                        0.0
                    })
                })
                .collect()
        };
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let r = Pc::new(IndependenceTest::kci())
            .run_with_oracle(&refs, oracle)
            .unwrap();
        let truth: Vec<(&str, Vec<&str>)> = dag
            .iter()
            .enumerate()
            .map(|(c, ps)| (refs[c], ps.iter().map(|&a| refs[a]).collect()))
            .collect();
        let truth: Vec<(&str, &[&str])> = truth.iter().map(|(c, ps)| (*c, ps.as_slice())).collect();
        assert_eq!(
            r.shd_to_dag(&truth).unwrap(),
            0,
            "seed {seed}: {:?}",
            r.edges
        );
        // the skeleton is the DAG's
        let edges: usize = dag.iter().map(Vec::len).sum();
        assert_eq!(r.edges.len(), edges, "seed {seed}");
    }
}

#[test]
fn knowledge_orients_and_keeps_required_edges() {
    // chain a → b → c (oracle): alone PC leaves it undirected; requiring a → b orients both
    // edges (Meek rule 1), and a required edge survives even an independence verdict
    let nodes = ["a", "b", "c"];
    let chain = |qs: &[Query]| {
        qs.iter()
            .map(|(x, y, z)| {
                Ok(if x[0] == "a" && y[0] == "c" && z.len() == 1 {
                    1.0
                } else {
                    0.0
                })
            })
            .collect()
    };
    let r = Pc::new(IndependenceTest::kci())
        .run_with_oracle(&nodes, chain)
        .unwrap();
    assert!(r.edges.iter().all(|e| e.kind == EdgeKind::Undirected));
    let r = Pc::new(IndependenceTest::kci())
        .knowledge(Knowledge::new().require("a", "b"))
        .run_with_oracle(&nodes, chain)
        .unwrap();
    assert!(
        r.edges.iter().all(|e| e.kind == EdgeKind::Directed),
        "{:?}",
        r.edges
    );
    let all_independent = |qs: &[Query]| qs.iter().map(|_| Ok(1.0)).collect();
    let r = Pc::new(IndependenceTest::kci())
        .knowledge(Knowledge::new().require("c", "a"))
        .run_with_oracle(&nodes, all_independent)
        .unwrap();
    assert_eq!(r.edges.len(), 1);
    assert_eq!(
        (r.edges[0].from.as_str(), r.edges[0].to.as_str()),
        ("c", "a")
    );
    // tiers forbid b → a and c → b: the chain is oriented a → b → c
    let r = Pc::new(IndependenceTest::kci())
        .knowledge(Knowledge::new().tiers(&[&["a"], &["b"], &["c"]]))
        .run_with_oracle(&nodes, chain)
        .unwrap();
    let dir: Vec<(&str, &str)> = r
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    assert_eq!(dir, vec![("a", "b"), ("b", "c")]);
}

#[test]
fn hsic_at_level_zero_and_kci_above() {
    // X1 → X2 → X3 nonlinear; with --test hsic the level-0 tests are HSIC, the rest KCI
    let n = 300;
    let u = |k: u64| -> Vec<f64> {
        let s = ceteris::rng::Stream::new(k, 9);
        (0..n)
            .map(|i| {
                let w = s.block(i as u32, 0);
                let (a, b) = (ceteris::rng::open_unit(w[0]), ceteris::rng::open_unit(w[1]));
                (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
            })
            .collect()
    };
    let (e1, e2, e3) = (u(1), u(2), u(3));
    let x1 = e1;
    let x2: Vec<f64> = (0..n).map(|i| (1.5 * x1[i]).sin() + 0.3 * e2[i]).collect();
    let x3: Vec<f64> = (0..n).map(|i| x2[i].powi(2) + 0.3 * e3[i]).collect();
    let data = Dataset::new()
        .with_column("x1", x1)
        .unwrap()
        .with_column("x2", x2)
        .unwrap()
        .with_column("x3", x3)
        .unwrap();
    let r = Pc::new(IndependenceTest::hsic())
        .run(&Engine::cpu(), &data, &[])
        .unwrap();
    assert_eq!(r.test, "hsic");
    let pairs: Vec<(&str, &str)> = r
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    assert_eq!(pairs, vec![("x1", "x2"), ("x2", "x3")], "{:?}", r.edges);
    assert_eq!(r.sepsets["x1|x3"], vec!["x2".to_string()]);
    assert_eq!(r.levels.len(), 2);
}

#[test]
fn gpu_engine_gives_the_cpu_graph() {
    let Some(gpu) = common::gpu() else { return };
    let doc = reference();
    let case = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kci_5")
        .unwrap();
    let (data, _) = dataset(case);
    let cpu = Pc::new(IndependenceTest::kci())
        .run(&Engine::cpu(), &data, &[])
        .unwrap();
    let dev = Pc::new(IndependenceTest::kci())
        .run(gpu, &data, &[])
        .unwrap();
    // the kernel tests now run on the device (KCI products and moments in f32)
    assert!(dev.backend.starts_with("gpu"), "{}", dev.backend);
    assert_eq!(cpu.marks(), dev.marks());
    assert_eq!(cpu.tests_run, dev.tests_run);
}

/// Three varying columns a, b, c, a constant column k and a one-valued domain column d.
fn small() -> Dataset {
    let n = 60;
    let a: Vec<f64> = (0..n).map(|i| ((i * 37) % 61) as f64).collect();
    let b: Vec<f64> = (0..n).map(|i| ((i * 17) % 59) as f64 + a[i]).collect();
    let c: Vec<f64> = (0..n).map(|i| ((i * 7) % 53) as f64).collect();
    Dataset::new()
        .with_column("a", a)
        .unwrap()
        .with_column("b", b)
        .unwrap()
        .with_column("c", c)
        .unwrap()
        .with_column("k", vec![2.0; n])
        .unwrap()
        .with_column("d", vec![1.0; n])
        .unwrap()
}

fn err(pc: Pc, cols: &[&str]) -> String {
    let r = std::panic::catch_unwind(|| pc.run(&Engine::cpu(), &small(), cols));
    match r {
        Ok(Ok(_)) => panic!("accepted bad input"),
        Ok(Err(e)) => e.to_string(),
        Err(_) => panic!("panicked"),
    }
}

#[test]
fn bad_input_is_named() {
    let fz = || Pc::new(IndependenceTest::fisher_z());
    assert!(err(fz(), &["a"]).contains("at least two columns"));
    assert!(err(fz(), &["a", "b", "a"]).contains("`a` is listed twice"));
    assert!(err(fz(), &["a", "k"]).contains("`k` is constant"));
    assert!(err(fz(), &["a", "nope"]).contains("nope"));
    for alpha in [0.0, 1.0, -0.1, f64::NAN] {
        assert!(
            err(fz().alpha(alpha), &["a", "b"]).contains("alpha"),
            "{alpha}"
        );
    }
    let e = err(fz().domain(Some("d")), &["a", "b"]);
    assert!(e.contains("`d` takes one value only"), "{e}");
    let e = err(fz().domain(Some("a")), &["a", "b"]);
    assert!(e.contains("also listed"), "{e}");
    let e = err(
        fz().knowledge(Knowledge::new().require("a", "b").forbid("a", "b")),
        &["a", "b"],
    );
    assert!(e.contains("both required and forbidden"), "{e}");
    let e = err(
        fz().knowledge(
            Knowledge::new()
                .require("b", "a")
                .tiers(&[&["b"], &["a"]])
                .require("a", "b"),
        ),
        &["a", "b"],
    );
    assert!(e.contains("are both required"), "{e}");
    let e = err(
        fz().knowledge(Knowledge::new().require("b", "a").tiers(&[&["a"], &["b"]])),
        &["a", "b"],
    );
    assert!(e.contains("both required and forbidden"), "{e}");
    let e = err(
        fz().knowledge(Knowledge::new().tiers(&[&["a"], &["a", "b"]])),
        &["a", "b"],
    );
    assert!(e.contains("more than one tier"), "{e}");
    let e = err(
        fz().knowledge(Knowledge::new().forbid("a", "zz")),
        &["a", "b"],
    );
    assert!(e.contains("unknown node `zz`"), "{e}");
    let e = err(fz().borderline(-1.0), &["a", "b"]);
    assert!(e.contains("borderline"), "{e}");
}
