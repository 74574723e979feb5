//! ONNX export of a trained evaluation network in inference mode (no auxiliary head, no drop
//! path): input `images` `(N, C, H, W)` with a dynamic batch, output `logits` `(N, classes)`.
//!
//! The graph is written directly in ONNX's protobuf encoding (opset 13): the handful of messages
//! it needs do not justify a protobuf code generator. The network is walked as
//! [`EvalNetwork::new`] builds it, reading the weights by name; a test runs the file in another
//! runtime and compares its logits with `aca`'s. One file although long: the walk mirrors the
//! network's construction op by op, and its encoder is the few messages that walk writes.

use std::collections::HashMap;
use std::path::Path;

use aca_core::write_atomic;
use aca_space::topology::{cell_slots, INPUTS};
use aca_space::{CellType, Primitive};
use tch::Tensor;

use crate::error::{EvalError, Result};
use crate::network::{EvalNetwork, Setting};
use crate::plan::{op_channels, ChannelPlan};

/// The opset written.
pub const ONNX_OPSET: i64 = 13;
const IR_VERSION: i64 = 7;
const BN_EPS: f32 = 1e-5;

/// Protobuf wire encoding of one message.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }
    fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }
    fn float(&mut self, field: u32, v: f32) {
        self.key(field, 5);
        self.0.extend(v.to_le_bytes());
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }
    fn msg(&mut self, field: u32, m: Pb) {
        self.bytes(field, &m.0);
    }
}

/// An attribute value.
enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
}

// Field numbers of onnx.proto.
mod field {
    pub const MODEL_IR_VERSION: u32 = 1;
    pub const MODEL_PRODUCER: u32 = 2;
    pub const MODEL_PRODUCER_VERSION: u32 = 3;
    pub const MODEL_GRAPH: u32 = 7;
    pub const MODEL_OPSET: u32 = 8;
    pub const OPSET_VERSION: u32 = 2;
    pub const GRAPH_NODE: u32 = 1;
    pub const GRAPH_NAME: u32 = 2;
    pub const GRAPH_INITIALIZER: u32 = 5;
    pub const GRAPH_INPUT: u32 = 11;
    pub const GRAPH_OUTPUT: u32 = 12;
    pub const NODE_INPUT: u32 = 1;
    pub const NODE_OUTPUT: u32 = 2;
    pub const NODE_NAME: u32 = 3;
    pub const NODE_OP: u32 = 4;
    pub const NODE_ATTR: u32 = 5;
    pub const ATTR_NAME: u32 = 1;
    pub const ATTR_F: u32 = 2;
    pub const ATTR_I: u32 = 3;
    pub const ATTR_INTS: u32 = 8;
    pub const ATTR_TYPE: u32 = 20;
    pub const TENSOR_DIMS: u32 = 1;
    pub const TENSOR_TYPE: u32 = 2;
    pub const TENSOR_NAME: u32 = 8;
    pub const TENSOR_RAW: u32 = 9;
    pub const VALUE_NAME: u32 = 1;
    pub const VALUE_TYPE: u32 = 2;
    pub const TYPE_TENSOR: u32 = 1;
    pub const TYPE_ELEM: u32 = 1;
    pub const TYPE_SHAPE: u32 = 2;
    pub const SHAPE_DIM: u32 = 1;
    pub const DIM_VALUE: u32 = 1;
    pub const DIM_PARAM: u32 = 2;
}
const FLOAT: i64 = 1;
const INT64: i64 = 7;
const ATTR_FLOAT: i64 = 1;
const ATTR_INT: i64 = 2;
const ATTR_INTS: i64 = 7;

/// The graph under construction.
struct Graph<'a> {
    weights: &'a HashMap<String, Tensor>,
    nodes: Vec<Pb>,
    initializers: Vec<Pb>,
    count: usize,
}

impl<'a> Graph<'a> {
    fn fresh(&mut self, what: &str) -> String {
        self.count += 1;
        format!("{what}_{}", self.count)
    }

    fn node(&mut self, op: &str, inputs: &[&str], attrs: &[(&str, Attr)]) -> String {
        let out = self.fresh(op);
        let mut n = Pb::default();
        for i in inputs {
            n.str(field::NODE_INPUT, i);
        }
        n.str(field::NODE_OUTPUT, &out);
        n.str(field::NODE_NAME, &out);
        n.str(field::NODE_OP, op);
        for (name, value) in attrs {
            let mut a = Pb::default();
            a.str(field::ATTR_NAME, name);
            match value {
                Attr::Int(v) => {
                    a.int(field::ATTR_I, *v);
                    a.int(field::ATTR_TYPE, ATTR_INT);
                }
                Attr::Ints(vs) => {
                    for v in vs {
                        a.int(field::ATTR_INTS, *v);
                    }
                    a.int(field::ATTR_TYPE, ATTR_INTS);
                }
                Attr::Float(v) => {
                    a.float(field::ATTR_F, *v);
                    a.int(field::ATTR_TYPE, ATTR_FLOAT);
                }
            }
            n.msg(field::NODE_ATTR, a);
        }
        self.nodes.push(n);
        out
    }

    /// A node's value: the sum of its kept edges' outputs. A node that keeps none has no value
    /// (an empty name); a valid genotype neither reads nor concatenates it.
    fn node_sum(&mut self, a: &Option<String>, b: &Option<String>) -> String {
        match (a, b) {
            (Some(a), Some(b)) => self.node("Add", &[a, b], &[]),
            (Some(x), None) | (None, Some(x)) => x.clone(),
            (None, None) => String::new(),
        }
    }

    fn initializer(&mut self, name: &str, dims: &[i64], kind: i64, raw: Vec<u8>) {
        let mut t = Pb::default();
        for d in dims {
            t.int(field::TENSOR_DIMS, *d);
        }
        t.int(field::TENSOR_TYPE, kind);
        t.str(field::TENSOR_NAME, name);
        t.bytes(field::TENSOR_RAW, &raw);
        self.initializers.push(t);
    }

    /// A weight of the network, as a float initializer named as in `aca`.
    fn weight(&mut self, name: &str) -> Result<String> {
        let t = self.weights.get(name).ok_or_else(|| EvalError::Config {
            field: "tensor",
            value: name.into(),
            reason: "missing from the network: the export does not know this layout".into(),
        })?;
        let dims = t.size();
        let values = Vec::<f32>::try_from(t.to_kind(tch::Kind::Float).flatten(0, -1))?;
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, &dims, FLOAT, raw);
        Ok(name.to_string())
    }

    fn ints(&mut self, values: &[i64]) -> String {
        let name = self.fresh("const");
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(&name, &[values.len() as i64], INT64, raw);
        name
    }

    fn relu(&mut self, x: &str) -> String {
        self.node("Relu", &[x], &[])
    }

    fn conv(
        &mut self,
        x: &str,
        w: &str,
        stride: i64,
        pad: i64,
        dilation: i64,
        groups: i64,
    ) -> Result<String> {
        let weight = self.weight(&format!("{w}.weight"))?;
        let k = self.weights[&format!("{w}.weight")].size()[2];
        Ok(self.node(
            "Conv",
            &[x, &weight],
            &[
                ("kernel_shape", Attr::Ints(vec![k, k])),
                ("strides", Attr::Ints(vec![stride, stride])),
                ("pads", Attr::Ints(vec![pad; 4])),
                ("dilations", Attr::Ints(vec![dilation, dilation])),
                ("group", Attr::Int(groups)),
            ],
        ))
    }

    fn bn(&mut self, x: &str, p: &str) -> Result<String> {
        let scale = self.weight(&format!("{p}.weight"))?;
        let bias = self.weight(&format!("{p}.bias"))?;
        let mean = self.weight(&format!("{p}.running_mean"))?;
        let var = self.weight(&format!("{p}.running_var"))?;
        Ok(self.node(
            "BatchNormalization",
            &[x, &scale, &bias, &mean, &var],
            &[("epsilon", Attr::Float(BN_EPS))],
        ))
    }

    /// `x[:, from..from+count]` (axis 1) or `x[:, :, from.., from..]` (axes 2, 3).
    fn slice(&mut self, x: &str, starts: &[i64], ends: &[i64], axes: &[i64]) -> String {
        let s = self.ints(starts);
        let e = self.ints(ends);
        let a = self.ints(axes);
        self.node("Slice", &[x, &s, &e, &a], &[])
    }

    fn concat(&mut self, xs: &[&str]) -> String {
        self.node("Concat", xs, &[("axis", Attr::Int(1))])
    }

    /// ReLU, conv, BN.
    fn relu_conv_bn(&mut self, x: &str, p: &str) -> Result<String> {
        let r = self.relu(x);
        let c = self.conv(&r, &format!("{p}.conv"), 1, 0, 1, 1)?;
        self.bn(&c, &format!("{p}.bn"))
    }

    /// ReLU, two 1x1 stride-2 convs (one on the input shifted by a pixel, zero-padded at the far
    /// edge on odd sizes), concatenated, BN. `size` is the input's height and width.
    fn factorized_reduce(&mut self, x: &str, p: &str, size: i64) -> Result<String> {
        let r = self.relu(x);
        let a = self.conv(&r, &format!("{p}.conv1"), 2, 0, 1, 1)?;
        let mut shifted = self.slice(&r, &[1, 1], &[i64::MAX, i64::MAX], &[2, 3]);
        if size % 2 == 1 {
            let pads = self.ints(&[0, 0, 0, 0, 0, 0, 1, 1]);
            shifted = self.node("Pad", &[&shifted, &pads], &[]);
        }
        let b = self.conv(&shifted, &format!("{p}.conv2"), 2, 0, 1, 1)?;
        let cat = self.concat(&[&a, &b]);
        self.bn(&cat, &format!("{p}.bn"))
    }

    /// One op of an edge producing `k` channels at `stride`.
    #[allow(clippy::too_many_arguments)]
    fn op(
        &mut self,
        x: &str,
        p: &str,
        prim: Primitive,
        k: i64,
        c: i64,
        stride: i64,
        size: i64,
    ) -> Result<String> {
        let first = |g: &mut Self, x: &str| {
            if k == c {
                x.to_string()
            } else {
                g.slice(x, &[0], &[k], &[1])
            }
        };
        Ok(match prim {
            Primitive::SkipConnect if stride == 1 => first(self, x),
            Primitive::SkipConnect => self.factorized_reduce(x, p, size)?,
            Primitive::MaxPool3x3 | Primitive::AvgPool3x3 => {
                let x = first(self, x);
                let common = vec![
                    ("kernel_shape", Attr::Ints(vec![3, 3])),
                    ("strides", Attr::Ints(vec![stride, stride])),
                    ("pads", Attr::Ints(vec![1; 4])),
                ];
                if prim == Primitive::MaxPool3x3 {
                    self.node("MaxPool", &[&x], &common)
                } else {
                    let mut attrs = common;
                    attrs.push(("count_include_pad", Attr::Int(0)));
                    self.node("AveragePool", &[&x], &attrs)
                }
            }
            Primitive::SepConv3x3 | Primitive::SepConv5x5 => {
                let pad = if prim == Primitive::SepConv3x3 { 1 } else { 2 };
                let r = self.relu(x);
                let d1 = self.conv(&r, &format!("{p}.dw1"), stride, pad, 1, c)?;
                let p1 = self.conv(&d1, &format!("{p}.pw1"), 1, 0, 1, 1)?;
                let b1 = self.bn(&p1, &format!("{p}.bn1"))?;
                let r2 = self.relu(&b1);
                let d2 = self.conv(&r2, &format!("{p}.dw2"), 1, pad, 1, c)?;
                let p2 = self.conv(&d2, &format!("{p}.pw2"), 1, 0, 1, 1)?;
                self.bn(&p2, &format!("{p}.bn2"))?
            }
            Primitive::DilConv3x3 | Primitive::DilConv5x5 => {
                let pad = if prim == Primitive::DilConv3x3 { 2 } else { 4 };
                let r = self.relu(x);
                let d = self.conv(&r, &format!("{p}.dw"), stride, pad, 2, c)?;
                let pw = self.conv(&d, &format!("{p}.pw"), 1, 0, 1, 1)?;
                self.bn(&pw, &format!("{p}.bn"))?
            }
            Primitive::None => {
                return Err(EvalError::Config {
                    field: "genotype",
                    value: "none".into(),
                    reason: "a dropped edge has no op to export".into(),
                })
            }
            Primitive::Noise => {
                return Err(EvalError::Config {
                    field: "genotype",
                    value: format!("noise on {p}"),
                    reason: "RobustDARTS's noise op draws new random values on every call; an \
                             exported model would not reproduce aca's outputs, so the plan is \
                             not exported"
                        .into(),
                })
            }
        })
    }
}

fn value_info(name: &str, dims: &[Option<i64>]) -> Pb {
    let mut shape = Pb::default();
    for d in dims {
        let mut dim = Pb::default();
        match d {
            Some(v) => dim.int(field::DIM_VALUE, *v),
            None => dim.str(field::DIM_PARAM, "batch"),
        }
        shape.msg(field::SHAPE_DIM, dim);
    }
    let mut tensor = Pb::default();
    tensor.int(field::TYPE_ELEM, FLOAT);
    tensor.msg(field::TYPE_SHAPE, shape);
    let mut ty = Pb::default();
    ty.msg(field::TYPE_TENSOR, tensor);
    let mut v = Pb::default();
    v.str(field::VALUE_NAME, name);
    v.msg(field::VALUE_TYPE, ty);
    v
}

/// The ONNX model of `net` (built from `plan`) for `size x size` inputs, as bytes.
pub fn onnx_model(net: &EvalNetwork, plan: &ChannelPlan, size: i64) -> Result<Vec<u8>> {
    let config = net.config();
    let weights: HashMap<String, Tensor> = net.named_tensors().into_iter().collect();
    let mut g = Graph {
        weights: &weights,
        nodes: Vec::new(),
        initializers: Vec::new(),
        count: 0,
    };
    let c = config.channels;
    let (mut s0, mut s1, mut spatial, stem_reduces) = match config.setting {
        Setting::Cifar => {
            let conv = g.conv("images", "stem.conv", 1, 1, 1, 1)?;
            let stem = g.bn(&conv, "stem.bn")?;
            (stem.clone(), stem, size, false)
        }
        Setting::Imagenet => {
            let a = g.conv("images", "stem.c0a", 2, 1, 1, 1)?;
            let a = g.bn(&a, "stem.b0a")?;
            let a = g.relu(&a);
            let b = g.conv(&a, "stem.c0b", 2, 1, 1, 1)?;
            let s0 = g.bn(&b, "stem.b0b")?;
            let r = g.relu(&s0);
            let d = g.conv(&r, "stem.c1", 2, 1, 1, 1)?;
            let s1 = g.bn(&d, "stem.b1")?;
            let down = |s: i64| (s - 1) / 2 + 1;
            (s0, s1, down(down(down(size))), true)
        }
    };
    // Spatial size of s0 (differs from s1's after the ImageNet stem and after a reduction).
    let mut spatial_s0 = match config.setting {
        Setting::Cifar => size,
        Setting::Imagenet => {
            let down = |s: i64| (s - 1) / 2 + 1;
            down(down(size))
        }
    };
    // Only the layout's kinds and widths matter here (channel counts come with the weights).
    for slot in cell_slots(config.layers, c, (0, 0, stem_reduces), |_| 0) {
        let (reduction, c_curr) = (slot.reduction, slot.c);
        let cell = CellType::of(reduction);
        let p = format!("cell{}", slot.index);
        let pre0 = if slot.reduction_prev {
            g.factorized_reduce(&s0, &format!("{p}.pre0"), spatial_s0)?
        } else {
            g.relu_conv_bn(&s0, &format!("{p}.pre0"))?
        };
        let pre1 = g.relu_conv_bn(&s1, &format!("{p}.pre1"))?;
        let mut states = vec![pre0, pre1];
        let edges = plan.genotype.cell(cell);
        let fractions = plan.fractions(cell);
        // Per edge its output; `None` for a sparse cell's dropped edge (`none`), which adds
        // nothing to its node.
        let mut outs: Vec<Option<String>> = Vec::with_capacity(edges.len());
        for (j, (&(prim, input), &f)) in edges.iter().zip(fractions).enumerate() {
            if j % 2 == 0 && j > 0 {
                states.push(g.node_sum(&outs[j - 2], &outs[j - 1]));
            }
            if prim == Primitive::None {
                outs.push(None);
                continue;
            }
            let stride = if reduction && input < INPUTS { 2 } else { 1 };
            let k = op_channels(f, c_curr, stride);
            let ep = format!("{p}.edge{j}");
            let x = states[input].clone();
            let in_size = spatial;
            let y = g.op(
                &x,
                &format!("{ep}.{}", prim.name()),
                prim,
                k,
                c_curr,
                stride,
                in_size,
            )?;
            let y = if k < c_curr {
                let rest = g.slice(&x, &[k], &[c_curr], &[1]);
                let rest = if stride == 1 {
                    rest
                } else {
                    g.factorized_reduce(&rest, &format!("{ep}.refill"), in_size)?
                };
                g.concat(&[&y, &rest])
            } else {
                y
            };
            outs.push(Some(y));
        }
        let last = edges.len();
        states.push(g.node_sum(&outs[last - 2], &outs[last - 1]));
        let concat: Vec<&str> = plan
            .genotype
            .concat(cell)
            .states()
            .iter()
            .map(|&s| states[s].as_str())
            .collect();
        let out = g.concat(&concat);
        spatial_s0 = spatial;
        if reduction {
            spatial = (spatial - 1) / 2 + 1;
        }
        s0 = s1;
        s1 = out;
    }
    let pooled = match config.setting {
        Setting::Imagenet if spatial >= 7 => g.node(
            "AveragePool",
            &[&s1],
            &[
                ("kernel_shape", Attr::Ints(vec![7, 7])),
                ("strides", Attr::Ints(vec![7, 7])),
            ],
        ),
        _ => g.node("GlobalAveragePool", &[&s1], &[]),
    };
    let flat = g.node("Flatten", &[&pooled], &[("axis", Attr::Int(1))]);
    let w = g.weight("classifier.weight")?;
    let b = g.weight("classifier.bias")?;
    let logits = g.node("Gemm", &[&flat, &w, &b], &[("transB", Attr::Int(1))]);
    let identity = {
        let mut n = Pb::default();
        n.str(field::NODE_INPUT, &logits);
        n.str(field::NODE_OUTPUT, "logits");
        n.str(field::NODE_NAME, "logits");
        n.str(field::NODE_OP, "Identity");
        n
    };
    g.nodes.push(identity);

    let mut graph = Pb::default();
    for n in g.nodes {
        graph.msg(field::GRAPH_NODE, n);
    }
    graph.str(field::GRAPH_NAME, "aca");
    for t in g.initializers {
        graph.msg(field::GRAPH_INITIALIZER, t);
    }
    graph.msg(
        field::GRAPH_INPUT,
        value_info(
            "images",
            &[None, Some(config.image_channels), Some(size), Some(size)],
        ),
    );
    graph.msg(
        field::GRAPH_OUTPUT,
        value_info("logits", &[None, Some(config.classes)]),
    );
    let mut opset = Pb::default();
    opset.int(field::OPSET_VERSION, ONNX_OPSET);
    let mut model = Pb::default();
    model.int(field::MODEL_IR_VERSION, IR_VERSION);
    model.str(field::MODEL_PRODUCER, "aca");
    model.str(field::MODEL_PRODUCER_VERSION, env!("CARGO_PKG_VERSION"));
    model.msg(field::MODEL_GRAPH, graph);
    model.msg(field::MODEL_OPSET, opset);
    Ok(model.0)
}

/// Writes the trained network of the training run `dir` to `out` as ONNX (temp file, then rename).
pub fn export_onnx(dir: &Path, out: &Path) -> Result<()> {
    let (net, plan) = crate::train::load_trained(dir, tch::Device::Cpu)?;
    let info = crate::predict::run_dataset(dir)?;
    let bytes = onnx_model(&net, &plan, info.size as i64)?;
    write_atomic(out, &bytes)?;
    Ok(())
}
