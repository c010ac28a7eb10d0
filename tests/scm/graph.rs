//! Node names and graphs: the one name rule across the model reader, `parse_graph` and
//! `read_graph`; the three graph forms (text, discover's JSON and DOT) read alike; CPDAGs refused
//! with their undirected edges listed; the DAGs of an equivalence class against closed-form counts.

use super::*;
use ceteris::scm::{quote_name, read_graph, unquote_name, Graph};

const ODD: [&str; 7] = [
    "p44/42",
    "age (years)",
    "x-1",
    "log.income",
    "a,b",
    "x=1",
    "say \"hi\"",
];

/// Models, graphs and interventions take names a CSV header can hold.
#[test]
fn any_csv_header_is_a_node_name_everywhere() {
    for name in ODD {
        // a model with that name reads, writes and reads back
        let m = Scm::new(vec![
            Node::linear(name, 0.0, &[], Noise::Normal { scale: 1.0 }),
            Node::linear("Y", 1.0, &[(name, 2.0)], Noise::Normal { scale: 1.0 }),
        ])
        .unwrap();
        let back = Scm::from_json(&m.to_json()).unwrap();
        assert_eq!(back.names(), [name, "Y"]);
        let e = back.exact(&[Intervention::atomic(name, 1.0)], "Y").unwrap();
        assert_eq!(e.mean, 3.0);
        // the quoted text form round-trips through parse_graph and read_graph
        let spec = format!("{} -> Y", quote_name(name));
        assert_eq!(
            parse_graph(&spec).unwrap(),
            [
                (name.to_string(), vec![]),
                ("Y".to_string(), vec![name.to_string()])
            ],
            "{spec}"
        );
        assert_eq!(unquote_name(&quote_name(name), "x").unwrap(), name);
        // and so do interventions written for the command line
        let set = Intervention::parse_list(&format!("{}=1,Y+=2", quote_name(name)), "do").unwrap();
        assert_eq!(
            set,
            [
                Intervention::atomic(name, 1.0),
                Intervention::shift("Y", 2.0)
            ]
        );
    }
    // only the empty name and control characters are refused, with the reason
    for bad in ["", "a\nb", "tab\there"] {
        let r = Scm::new(vec![Node::linear(
            bad,
            0.0,
            &[],
            Noise::Normal { scale: 1.0 },
        )]);
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("empty") || e.contains("control character"),
            "{e}"
        );
    }
    model_err(parse_graph("\"\" -> Y"), "graph", "empty");
    model_err(parse_graph("\"a -> Y"), "graph", "unterminated");
}

/// discover's JSON and DOT output and the text form describe the same graph.
#[test]
fn the_three_graph_forms_read_alike() {
    let json = r#"{"nodes": ["a,b", "p44/42", "y", "lone"], "edges": [
        {"from": "a,b", "to": "y", "kind": "directed"},
        {"from": "p44/42", "to": "y", "kind": "directed"},
        {"from": "y", "to": "q", "kind": "undirected"}], "tests_run": 4}"#;
    let dot = "// a comment\ndigraph cpdag {\n  rankdir=LR;\n  node [shape=box];\n  \"a,b\";\n  \"p44/42\"; \"y\"; lone;\n  \"a,b\" -> \"y\";\n  \"p44/42\" -> y [color=red];\n  \"y\" -> \"q\" [dir=none];\n}\n";
    let text = "# edges\n\"a,b\" -> y\np44/42 -> y, lone\ny -- q\n";
    let (j, d, t) = (
        read_graph(json).unwrap(),
        read_graph(dot).unwrap(),
        read_graph(text).unwrap(),
    );
    assert_eq!(j, d);
    assert_eq!(j.directed, t.directed);
    assert_eq!(j.undirected, t.undirected);
    let mut tn = t.nodes.clone();
    let mut jn = j.nodes.clone();
    tn.sort();
    jn.sort();
    assert_eq!(tn, jn);
    assert_eq!(j.undirected, [("y".to_string(), "q".to_string())]);
    // DOT's `--`, dir=back and escaped quotes
    let g = read_graph("graph g { a -- b; c -> d [dir=back]; \"x \\\"1\\\"\" -> d [dir=forward] }")
        .unwrap();
    assert_eq!(g.undirected, [("a".to_string(), "b".to_string())]);
    assert_eq!(
        g.directed,
        [
            ("d".to_string(), "c".to_string()),
            ("x \"1\"".to_string(), "d".to_string())
        ]
    );
    // `edge [dir=none]` makes the later edges undirected; a text graph may name a node `graph`
    let g = read_graph("digraph { a -> b; edge [dir=none]; b -> c }").unwrap();
    assert_eq!(g.directed, [("a".to_string(), "b".to_string())]);
    assert_eq!(g.undirected, [("b".to_string(), "c".to_string())]);
    let g = read_graph("graph -> y, strict -> y").unwrap();
    assert_eq!(g.nodes, ["graph", "y", "strict"]);
    // bidirected edges, subgraphs, bad JSON and empty graphs are refused, named
    for (bad, needle) in [
        ("a <-> b", "bidirected"),
        ("digraph { a -> b [dir=both] }", "bidirected"),
        (
            r#"{"edges": [{"from": "a", "to": "b", "kind": "bidirected"}]}"#,
            "bidirected",
        ),
        (r#"{"edges": [{"from": "a", "kind": "directed"}]}"#, "`to`"),
        (
            r#"{"edges": [{"from": "a", "to": "b", "kind": "sideways"}]}"#,
            "kind",
        ),
        ("digraph { subgraph s { a } }", "subgraph"),
        ("digraph { a -> b ", "closing"),
        ("{ not json", "not valid JSON"),
        ("  \n", "no nodes"),
        ("a -> a", "self-loop"),
        ("a -> b, a -- b", "contradicts"),
    ] {
        model_err(read_graph(bad), "graph", needle);
    }
}

#[test]
fn cpdags_are_refused_with_their_undirected_edges_and_cycles_named() {
    let e = read_graph("a -- b, b -> c, \"c,d\" -- e")
        .unwrap()
        .parent_sets()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("orient these edges: a -- b, \"c,d\" -- e, or pass a DAG"),
        "{e}"
    );
    let e = read_graph("a -> b -> c -> b")
        .unwrap()
        .check_acyclic()
        .unwrap_err()
        .to_string();
    assert!(e.contains("cycle through b -> c -> b"), "{e}");
}

/// Whether a DAG (no undirected edges) is acyclic and has exactly the v-structures `want`.
fn v_structures(g: &Graph) -> Vec<(String, String, String)> {
    let adjacent = |a: &str, b: &str| {
        g.directed
            .iter()
            .any(|(f, t)| (f == a && t == b) || (f == b && t == a))
    };
    let mut v = Vec::new();
    for (a, c) in &g.directed {
        for (b, c2) in &g.directed {
            if c == c2 && a < b && !adjacent(a, b) {
                v.push((a.clone(), c.clone(), b.clone()));
            }
        }
    }
    v.sort();
    v
}

/// Consistent extensions against closed-form counts: a tree of n nodes has n DAGs (one per
/// root: any other orientation makes a collider), a complete graph of k nodes k! (one per order),
/// and every DAG returned is acyclic, distinct and has the CPDAG's v-structures only.
#[test]
fn dags_of_an_equivalence_class_match_closed_form_counts() {
    let cases: [(&str, usize); 8] = [
        ("a -- b -- c", 3),
        ("a -- b, b -- c, a -- c", 6),
        ("a--b, a--c, a--d, b--c, b--d, c--d", 24),
        (
            "a--b, a--c, a--d, a--e, b--c, b--d, b--e, c--d, c--e, d--e",
            120,
        ),
        // trees: a star of 5 nodes and a path of 6
        ("h -- a, h -- b, h -- c, h -- d", 5),
        ("a -- b -- c -- d -- e -- f", 6),
        // a → b — c: b → c only
        ("a -> b -- c", 1),
        // a collider a → c ← b with c — d: c → d only
        ("a -> c, b -> c, c -- d", 1),
    ];
    for (spec, want) in cases {
        let g = read_graph(spec).unwrap();
        let dags = g.dags().unwrap();
        assert_eq!(dags.len(), want, "{spec}");
        let base = v_structures(&Graph {
            nodes: g.nodes.clone(),
            directed: g.directed.clone(),
            undirected: vec![],
        });
        for (k, d) in dags.iter().enumerate() {
            assert!(d.undirected.is_empty());
            assert_eq!(d.directed.len(), g.directed.len() + g.undirected.len());
            d.check_acyclic().unwrap();
            assert_eq!(v_structures(d), base, "{spec}: {d:?}");
            let mut e1 = d.directed.clone();
            e1.sort();
            for other in &dags[..k] {
                let mut e2 = other.directed.clone();
                e2.sort();
                assert_ne!(e1, e2, "{spec}: a DAG twice");
            }
            // every DAG fits: the parent sets are accepted
            d.parent_sets().unwrap();
        }
    }
    // a DAG is its own class; a cyclic graph and too many DAGs are errors
    assert_eq!(read_graph("a -> b").unwrap().dags().unwrap().len(), 1);
    model_err(
        read_graph("a -> b -> a, b -- c").unwrap().dags(),
        "graph",
        "cycle",
    );
    // complete graph on 8 nodes: 40 320 DAGs > 10 000
    let names: Vec<String> = (0..8).map(|i| format!("n{i}")).collect();
    let mut edges = Vec::new();
    for i in 0..8 {
        for j in i + 1..8 {
            edges.push(format!("{} -- {}", names[i], names[j]));
        }
    }
    let k8 = read_graph(&edges.join(",")).unwrap();
    model_err(k8.dags(), "graph", "more than 10000 DAGs");
    assert_eq!(k8.dags_up_to(50_000).unwrap().len(), 40_320);
}

/// discover's DOT quotes and escapes every name, so odd names come back as they were.
#[test]
fn discovery_dot_round_trips_odd_names() {
    use ceteris::discovery::{EdgeKind, Pc};
    use ceteris::independence::IndependenceTest;
    let names = ["say \"hi\"", "a,b", "back\\slash"];
    // a collider names[0] → names[2] ← names[1]: every edge directed
    let truth = Scm::new(vec![
        Node::linear(names[0], 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::linear(names[1], 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::linear(
            names[2],
            0.0,
            &[(names[0], 1.0), (names[1], 1.0)],
            Noise::Normal { scale: 0.5 },
        ),
    ])
    .unwrap();
    let data = truth.sample(&Engine::cpu(), &[], 1000, 2).unwrap().data;
    let r = Pc::new(IndependenceTest::fisher_z())
        .run(&Engine::cpu(), &data, &names)
        .unwrap();
    let g = read_graph(&r.to_dot()).unwrap();
    let mut want_dir = Vec::new();
    let mut want_und = Vec::new();
    for e in &r.edges {
        match e.kind {
            EdgeKind::Directed => want_dir.push((e.from.clone(), e.to.clone())),
            _ => want_und.push((e.from.clone(), e.to.clone())),
        }
    }
    assert_eq!(g.directed, want_dir);
    assert_eq!(g.undirected, want_und);
    assert_eq!(
        g.directed,
        [
            (names[0].to_string(), names[2].to_string()),
            (names[1].to_string(), names[2].to_string())
        ]
    );
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(read_graph(&json).unwrap(), g);
}
