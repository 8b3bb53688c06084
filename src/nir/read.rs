//! Reading a NIR graph file: the HDF5 layout of `nir.write` (see the
//! [module documentation](super)) into typed nodes and edges, and the check that the edges
//! form one feedforward chain from the `Input` to the `Output`.
//!
//! It reads what the import needs of each node type it knows and only the type name of the
//! others; it does not judge parameters (that is [`super::import`]). Every failure is an
//! [`Error::NirImport`] naming the node.

use super::h5::{self, Array};
use crate::encoding::{Encoding, EncodingKind};
use crate::error::{Error, NirRefusal, Result};
use crate::network::MAX_WEIGHTS;
use hdf5_pure::File;
use std::collections::{BTreeMap, BTreeSet};

/// A node of a NIR graph, with the fields the import reads.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// `Input`: its shape, and firstspike's input encoding if its metadata carries one.
    Input {
        shape: Vec<usize>,
        encoding: Option<Encoding>,
    },
    /// `Output`: its shape.
    Output { shape: Vec<usize> },
    /// `Affine` (with its bias) or `Linear` (`bias: None`): `y = W x + b`.
    Affine { weight: Array, bias: Option<Array> },
    /// `Conv2d`.
    Conv2d(Conv2dNode),
    /// `Flatten`: dimensions `start_dim..=end_dim` of its input made one.
    Flatten {
        start_dim: i64,
        end_dim: i64,
        input_type: Option<Vec<usize>>,
    },
    /// `LI`: `tau dv/dt = (v_leak - v) + r I`.
    Li { tau: Array, r: Array, v_leak: Array },
    /// `IF`: `dv/dt = r I`, threshold `v_threshold` (`v_reset` is not read: it never acts).
    If { r: Array, v_threshold: Array },
    /// `CubaLIF`: `tau_syn dI/dt = -I + w_in S`, `tau_mem dv/dt = (v_leak - v) + r I`.
    CubaLif {
        tau_syn: Array,
        tau_mem: Array,
        r: Array,
        v_leak: Array,
        v_threshold: Array,
        w_in: Option<Array>,
    },
    /// Any other type, by name.
    Other(String),
}

/// A `Conv2d` node's fields.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Conv2dNode {
    /// Kernel, shape `(c_out, c_in, kH, kW)`.
    pub(crate) weight: Array,
    /// Stride: one number, or one per axis.
    pub(crate) stride: Vec<i64>,
    /// Padding.
    pub(crate) padding: Padding,
    /// Dilation: one number, or one per axis.
    pub(crate) dilation: Vec<i64>,
    /// Groups.
    pub(crate) groups: i64,
    /// Bias, `(c_out)` or a scalar.
    pub(crate) bias: Array,
    /// `(H, W)` of the input map, if written.
    pub(crate) input_shape: Option<Vec<i64>>,
}

/// A `Conv2d` padding: numbers (one, or one per axis) or one of NIR's names.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Padding {
    /// Zero padding of this many on each side (one number, or one per axis).
    Numbers(Vec<i64>),
    /// A name: `same` or `valid` (others are kept to be refused by name).
    Named(String),
}

impl Node {
    /// The node's NIR type name.
    pub(crate) fn type_name(&self) -> &str {
        match self {
            Node::Input { .. } => "Input",
            Node::Output { .. } => "Output",
            Node::Affine { bias: Some(_), .. } => "Affine",
            Node::Affine { bias: None, .. } => "Linear",
            Node::Conv2d(_) => "Conv2d",
            Node::Flatten { .. } => "Flatten",
            Node::Li { .. } => "LI",
            Node::If { .. } => "IF",
            Node::CubaLif { .. } => "CubaLIF",
            Node::Other(t) => t,
        }
    }
}

/// A NIR graph as read: its nodes by name, and its edges.
#[derive(Clone, Debug)]
pub(crate) struct Graph {
    /// Nodes by name.
    pub(crate) nodes: BTreeMap<String, Node>,
    /// Edges, source to target, in the file's order.
    pub(crate) edges: Vec<(String, String)>,
    /// `/version`, if the file has it as a string.
    pub(crate) version: Option<String>,
    /// The graph's `metadata/producer`, if a string.
    pub(crate) producer: Option<String>,
    /// The graph's `metadata/model_sha256` (a firstspike export's model), if a string.
    pub(crate) model_sha256: Option<String>,
}

/// A malformed file, concerning `node` if one.
fn malformed(node: Option<&str>, what: impl Into<String>) -> Error {
    Error::nir_import(node, NirRefusal::Malformed, what)
}

/// Reads the graph in the bytes of a NIR file.
pub(crate) fn graph(bytes: Vec<u8>) -> Result<Graph> {
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(malformed(
            None,
            "not an HDF5 file (a NIR graph is the HDF5 file nir.write writes)",
        ));
    }
    let f = File::from_bytes(bytes).map_err(|e| malformed(None, format!("HDF5: {e}")))?;
    let t = h5::string(&f, "node/type").map_err(|e| malformed(None, e))?;
    if t != "NIRGraph" {
        return Err(malformed(
            None,
            format!("node/type is '{t}', not 'NIRGraph': not a NIR graph file"),
        ));
    }
    let edges = read_edges(&f)?;
    let names = f
        .group("node/nodes")
        .and_then(|g| g.groups())
        .map_err(|e| malformed(None, format!("node/nodes: {e}")))?;
    let mut nodes = BTreeMap::new();
    for name in names {
        let node =
            read_node(&f, &format!("node/nodes/{name}")).map_err(|e| malformed(Some(&name), e))?;
        nodes.insert(name, node);
    }
    let text = |p: &str| h5::string(&f, p).ok();
    Ok(Graph {
        nodes,
        edges,
        version: text("version"),
        producer: text("node/metadata/producer"),
        model_sha256: text("node/metadata/model_sha256"),
    })
}

/// `node/edges`: an `(n, 2)` array of node names (or an empty graph's none).
fn read_edges(f: &File) -> Result<Vec<(String, String)>> {
    if !h5::has_dataset(f, "node/edges") {
        return Err(malformed(None, "node/edges is missing"));
    }
    let names = h5::strings(f, "node/edges").map_err(|e| malformed(None, e))?;
    if names.len() % 2 != 0 {
        return Err(malformed(
            None,
            format!("node/edges holds {} names, not pairs", names.len()),
        ));
    }
    Ok(names
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect())
}

/// Reads the node at `at` (an HDF5 group path), its fields as its type needs them.
fn read_node(f: &File, at: &str) -> std::result::Result<Node, String> {
    let field = |name: &str| format!("{at}/{name}");
    let nums = |name: &str| h5::numbers(f, &field(name), MAX_WEIGHTS);
    let opt = |name: &str| {
        h5::has_dataset(f, &field(name))
            .then(|| nums(name))
            .transpose()
    };
    let dims = |name: &str| -> std::result::Result<Vec<usize>, String> {
        let (_, v) = h5::integers(f, &field(name), 16)?;
        v.iter()
            .map(|&x| usize::try_from(x).map_err(|_| format!("{}: extent {x}", field(name))))
            .collect()
    };
    let t = h5::string(f, &field("type"))?;
    Ok(match t.as_str() {
        "Input" => Node::Input {
            shape: dims("shape")?,
            encoding: input_encoding(f, &field("metadata"))?,
        },
        "Output" => Node::Output {
            shape: dims("shape")?,
        },
        "Affine" => Node::Affine {
            weight: nums("weight")?,
            bias: Some(nums("bias")?),
        },
        "Linear" => Node::Affine {
            weight: nums("weight")?,
            bias: None,
        },
        "Conv2d" => Node::Conv2d(read_conv(f, at)?),
        "Flatten" => Node::Flatten {
            start_dim: scalar_int(f, &field("start_dim"))?,
            end_dim: scalar_int(f, &field("end_dim"))?,
            input_type: h5::has_dataset(f, &field("input_type"))
                .then(|| dims("input_type"))
                .transpose()?,
        },
        "LI" => Node::Li {
            tau: nums("tau")?,
            r: nums("r")?,
            v_leak: nums("v_leak")?,
        },
        "IF" => Node::If {
            r: nums("r")?,
            v_threshold: nums("v_threshold")?,
        },
        "CubaLIF" => Node::CubaLif {
            tau_syn: nums("tau_syn")?,
            tau_mem: nums("tau_mem")?,
            r: nums("r")?,
            v_leak: nums("v_leak")?,
            v_threshold: nums("v_threshold")?,
            w_in: opt("w_in")?,
        },
        _ => Node::Other(t),
    })
}

/// A `Conv2d` node's fields.
fn read_conv(f: &File, at: &str) -> std::result::Result<Conv2dNode, String> {
    let field = |name: &str| format!("{at}/{name}");
    let ints = |name: &str| h5::integers(f, &field(name), 16).map(|(_, v)| v);
    let padding = if h5::is_string(f, &field("padding")) {
        Padding::Named(h5::string(f, &field("padding"))?)
    } else {
        Padding::Numbers(ints("padding")?)
    };
    Ok(Conv2dNode {
        weight: h5::numbers(f, &field("weight"), MAX_WEIGHTS)?,
        stride: ints("stride")?,
        padding,
        dilation: ints("dilation")?,
        groups: scalar_int(f, &field("groups"))?,
        bias: h5::numbers(f, &field("bias"), MAX_WEIGHTS)?,
        input_shape: h5::has_dataset(f, &field("input_shape"))
            .then(|| ints("input_shape"))
            .transpose()?,
    })
}

/// Dataset `path` as one integer.
fn scalar_int(f: &File, path: &str) -> std::result::Result<i64, String> {
    match h5::integers(f, path, 1)? {
        (_, v) if v.len() == 1 => Ok(v[0]),
        (s, _) => Err(format!("{path}: shape {s:?}, not one number")),
    }
}

/// The input encoding in an `Input` node's metadata group `meta` (`encoding`, `t_max`,
/// `silent_below`, as firstspike's export writes them): `None` if the metadata has no
/// `encoding`; an error if it has one that is incomplete or invalid.
fn input_encoding(f: &File, meta: &str) -> std::result::Result<Option<Encoding>, String> {
    let at = |name: &str| format!("{meta}/{name}");
    if !h5::has_dataset(f, &at("encoding")) {
        return Ok(None);
    }
    let kind = match h5::string(f, &at("encoding"))?.as_str() {
        "linear" => EncodingKind::Linear,
        "zlinear" => EncodingKind::ZLinear,
        other => {
            return Err(format!(
                "{}: input encoding '{other}' is not firstspike's (linear or zlinear)",
                at("encoding")
            ))
        }
    };
    let t_max = h5::numbers(f, &at("t_max"), 1)?;
    let silent = scalar_int(f, &at("silent_below"))?;
    let e = Encoding {
        kind,
        t_max: t_max.data.first().copied().unwrap_or(f64::NAN),
        silent_below: u8::try_from(silent)
            .map_err(|_| format!("{}: {silent} is not in 0..=255", at("silent_below")))?,
    };
    e.validate().map_err(|w| format!("{meta}: {w}"))?;
    Ok(Some(e))
}

/// The node names from the graph's one `Input` to its one `Output`, in order, after checking
/// that the edges form exactly that chain: every edge between existing nodes, no cycle, no
/// node with two successors or two predecessors, every node on the chain.
pub(crate) fn chain(g: &Graph) -> Result<Vec<String>> {
    for (a, b) in &g.edges {
        if let Some(missing) = [a, b].into_iter().find(|n| !g.nodes.contains_key(*n)) {
            return Err(malformed(
                Some(missing),
                format!("the edge {a} -> {b} names a node that the graph does not have"),
            ));
        }
    }
    let input = only_node(g, "Input")?;
    let output = only_node(g, "Output")?;
    check_acyclic(g)?;
    let mut next: BTreeMap<&str, &str> = BTreeMap::new();
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    for (a, b) in &g.edges {
        for (map, from, to, way) in [
            (&mut next, a, b, "successors"),
            (&mut prev, b, a, "predecessors"),
        ] {
            if let Some(other) = map.insert(from.as_str(), to.as_str()) {
                return Err(Error::nir_import(
                    Some(from),
                    NirRefusal::Branching,
                    format!(
                        "two {way} ({other} and {to}): firstspike imports one chain from the Input to the Output, without branches"
                    ),
                ));
            }
        }
    }
    let mut order = vec![input.to_string()];
    let mut at = input;
    while let Some(&n) = next.get(at) {
        order.push(n.to_string());
        at = n;
    }
    if at != output {
        return Err(Error::nir_import(
            Some(at),
            NirRefusal::Branching,
            format!("the chain from the Input '{input}' ends here, not at the Output '{output}'"),
        ));
    }
    let on: BTreeSet<&str> = order.iter().map(String::as_str).collect();
    if let Some(off) = g.nodes.keys().find(|n| !on.contains(n.as_str())) {
        return Err(Error::nir_import(
            Some(off),
            NirRefusal::Branching,
            format!("not on the chain from the Input '{input}' to the Output '{output}'"),
        ));
    }
    Ok(order)
}

/// The name of the graph's one node of type `kind` (`Input` or `Output`).
fn only_node<'g>(g: &'g Graph, kind: &str) -> Result<&'g str> {
    let found: Vec<&str> = g
        .nodes
        .iter()
        .filter(|(_, n)| n.type_name() == kind)
        .map(|(k, _)| k.as_str())
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(malformed(None, format!("the graph has no {kind} node"))),
        [_, second, ..] => Err(Error::nir_import(
            Some(second),
            NirRefusal::Branching,
            format!(
                "a second {kind} node ({}): firstspike imports networks of one {kind}",
                found.join(", ")
            ),
        )),
    }
}

/// Refuses a cycle: depth-first search from every node; an edge to a node on the current
/// path closes a cycle (a recurrent connection, a self-loop included).
fn check_acyclic(g: &Graph) -> Result<()> {
    let mut succ: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in &g.edges {
        succ.entry(a.as_str()).or_default().push(b.as_str());
    }
    // 0 = not seen, 1 = on the current path, 2 = done.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    for start in g.nodes.keys() {
        if state.contains_key(start.as_str()) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
        state.insert(start, 1);
        while let Some((n, k)) = stack.pop() {
            let Some(&m) = succ.get(n).and_then(|s| s.get(k)) else {
                state.insert(n, 2);
                continue;
            };
            stack.push((n, k + 1));
            match state.get(m).copied().unwrap_or(0) {
                1 => {
                    return Err(Error::nir_import(
                        Some(m),
                        NirRefusal::Recurrent,
                        format!("the edge {n} -> {m} closes a cycle (a recurrent connection); firstspike networks are feedforward"),
                    ))
                }
                0 => {
                    state.insert(m, 1);
                    stack.push((m, 0));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(names: &[(&str, &str)], edges: &[(&str, &str)]) -> Graph {
        Graph {
            nodes: names
                .iter()
                .map(|&(n, t)| {
                    let node = match t {
                        "Input" => Node::Input {
                            shape: vec![1],
                            encoding: None,
                        },
                        "Output" => Node::Output { shape: vec![1] },
                        t => Node::Other(t.into()),
                    };
                    (n.to_string(), node)
                })
                .collect(),
            edges: edges
                .iter()
                .map(|&(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            version: None,
            producer: None,
            model_sha256: None,
        }
    }

    fn refusal(r: Result<Vec<String>>) -> (NirRefusal, Option<String>) {
        match r {
            Err(Error::NirImport { refusal, node, .. }) => (refusal, node),
            other => panic!("{other:?}"),
        }
    }

    const NODES: [(&str, &str); 4] = [("i", "Input"), ("a", "X"), ("b", "Y"), ("o", "Output")];

    #[test]
    fn a_chain_is_ordered_whatever_the_edge_order() {
        let c = chain(&g(&NODES, &[("b", "o"), ("i", "a"), ("a", "b")])).unwrap();
        assert_eq!(c, ["i", "a", "b", "o"]);
    }

    #[test]
    fn cycles_branches_and_strays_are_refused_naming_the_node() {
        let r = |e: &[(&str, &str)]| refusal(chain(&g(&NODES, e)));
        let cyc = r(&[("i", "a"), ("a", "b"), ("b", "a"), ("b", "o")]);
        assert_eq!(cyc.0, NirRefusal::Recurrent);
        assert_eq!(
            r(&[("i", "a"), ("a", "a"), ("a", "b"), ("b", "o")]).0,
            NirRefusal::Recurrent
        );
        let fork = r(&[("i", "a"), ("i", "b"), ("a", "o"), ("b", "o")]);
        assert_eq!(fork, (NirRefusal::Branching, Some("i".into())));
        let stray = r(&[("i", "a"), ("a", "o")]);
        assert_eq!(stray, (NirRefusal::Branching, Some("b".into())));
        let dead_end = r(&[("i", "a"), ("b", "o")]);
        assert_eq!(dead_end, (NirRefusal::Branching, Some("a".into())));
        let missing = r(&[("i", "zz")]);
        assert_eq!(missing, (NirRefusal::Malformed, Some("zz".into())));
        let two_inputs = refusal(chain(&g(
            &[("i", "Input"), ("j", "Input"), ("o", "Output")],
            &[("i", "o"), ("j", "o")],
        )));
        assert_eq!(two_inputs, (NirRefusal::Branching, Some("j".into())));
    }
}
