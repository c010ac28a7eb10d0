"""The DoWhy gcm set-up shared by the SCM rival scripts: a linear model on a scm-json/v1 graph.

`fitted_linear_gcm(nodes, data)` builds the graph of `nodes` (the model file's "nodes" list),
gives every non-root node `AdditiveNoiseModel(linear regressor)` and every root an empirical
distribution (how gcm users set up a linear model), fits it on the DataFrame `data` and returns
it. The model is an `InvertibleStructuralCausalModel`, which counterfactuals need and which
samples interventions like the plain one.

Made with dowhy 0.14.
"""
import networkx as nx
from dowhy import gcm


def fitted_linear_gcm(nodes, data):
    g = nx.DiGraph()
    g.add_nodes_from(n["name"] for n in nodes)
    for n in nodes:
        for p in n["parents"]:
            g.add_edge(p, n["name"])
    scm = gcm.InvertibleStructuralCausalModel(g)
    for n in nodes:
        scm.set_causal_mechanism(n["name"], gcm.AdditiveNoiseModel(
            gcm.ml.create_linear_regressor()) if n["parents"] else gcm.EmpiricalDistribution())
    gcm.config.disable_progress_bars()
    gcm.fit(scm, data)
    return scm
