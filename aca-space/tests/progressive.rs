//! DrNAS's progressive supernet: pruning, widening, and its parameter counts against the
//! official code's.

use aca_space::nn::{SearchNetConfig, SearchNetwork};
use aca_space::{CellType, Relaxation, Space};
use tch::{Device, Kind, Tensor};

fn drnas(channels: i64, layers: usize, k: i64) -> SearchNetwork {
    let cfg = SearchNetConfig {
        channels,
        layers,
        partial_channels: Some(k),
        relaxation: Relaxation::Dirichlet,
        ..Default::default()
    };
    SearchNetwork::new(&cfg, &Space::DartsNoNone.op_set(), Device::Cpu).unwrap()
}

/// The official counts come from xiangning-chen/DrNAS at f2caa4d, `DARTS-space/model_search.py`
/// run on the CPU with torch 2.11 (`.cuda()` made a no-op, torchvision stubbed):
/// `Network(C, 10, layers, CrossEntropyLoss(), k=K)`, `sum(p.numel() for p in
/// model.parameters())` (what its `count_parameters_in_MB` sums), then `model.pruning(4);
/// model.wider(K2)` and the count again. Its stage 1 at the paper's shape is 2,221,750.
#[test]
fn drnas_supernet_parameter_counts_equal_the_official_code() {
    tch::manual_seed(0);
    for (channels, layers, k, k2, stage1, stage2) in [
        (36, 20, 6, 4, 2_221_750, 2_986_462),
        (8, 5, 4, 2, 66_586, 146_962),
    ] {
        let mut net = drnas(channels, layers, k);
        assert_eq!(net.param_count(), stage1, "C={channels} K={k}");
        net.prune(4).unwrap();
        let (wide, _) = net.widened(Some(k2), 0).unwrap();
        assert_eq!(wide.param_count(), stage2, "C={channels} K={k2}");
    }
}

#[test]
fn pruning_keeps_the_largest_alphas_and_zeroes_the_rest() {
    tch::manual_seed(0);
    let mut net = drnas(8, 3, 4);
    let n_ops = net.ops().len() as i64;
    // Edge e prefers op (e mod 7), then op (e + 1 mod 7), ...
    let alphas: Vec<f32> = (0..14 * n_ops)
        .map(|i| {
            let (e, op) = (i / n_ops, i % n_ops);
            -(((op - e).rem_euclid(n_ops)) as f32)
        })
        .collect();
    tch::no_grad(|| {
        for a in net.arch_parameters() {
            a.shallow_clone()
                .copy_(&Tensor::from_slice(&alphas).view([14, n_ops]));
        }
    });
    net.prune(3).unwrap();
    let mask = net.op_mask().unwrap().clone();
    let arch = net.arch_params().unwrap();
    for e in 0..14usize {
        let kept: Vec<usize> = (0..n_ops as usize).filter(|&o| mask.normal[e][o]).collect();
        let expected: Vec<usize> = {
            let mut v: Vec<usize> = (0..3).map(|j| (e + j) % 7).collect();
            v.sort();
            v
        };
        assert_eq!(kept, expected, "edge {e}");
        for o in 0..n_ops as usize {
            if !mask.normal[e][o] {
                assert_eq!(arch.normal[[e, o]], 0.0);
            }
        }
    }
    // Pruned ops weigh 0 in training passes (Dirichlet samples) and evaluation alike.
    for train in [true, false] {
        let [w, _] = net.op_weights(train);
        let w = Vec::<f32>::try_from(w.flatten(0, -1)).unwrap();
        for (i, v) in w.iter().enumerate() {
            let (e, o) = (i / n_ops as usize, i % n_ops as usize);
            assert!(
                mask.normal[e][o] || *v == 0.0,
                "train {train}: edge {e} op {o} = {v}"
            );
        }
    }
    // A second pruning only chooses among the kept ops.
    net.prune(1).unwrap();
    let g = net.genotype().unwrap();
    for &(op, _) in g.cell(CellType::Normal) {
        assert_ne!(op.name(), "none");
    }
    let mask = net.op_mask().unwrap();
    for e in 0..14 {
        assert!(mask.normal[e][e % 7], "edge {e} keeps its best op");
    }
}

#[test]
fn widening_keeps_the_old_channels_and_the_network_runs() {
    tch::manual_seed(1);
    let mut net = drnas(8, 3, 4);
    net.prune(4).unwrap();
    let xs = Tensor::randn([2, 3, 8, 8], (Kind::Float, Device::Cpu));
    let before = net.named_tensors();
    let (wide, widening) = net.widened(Some(2), 3).unwrap();
    let after = wide.named_tensors();
    let mut grown = 0;
    for ((name, old), (name2, new)) in before.iter().zip(&after) {
        assert_eq!(name, name2);
        if old.size() == new.size() {
            assert!(old.equal(new), "{name} changed");
            continue;
        }
        grown += 1;
        // The old tensor is the new one's leading block.
        let mut lead = new.shallow_clone();
        for (d, n) in old.size().iter().enumerate() {
            lead = lead.narrow(d as i64, 0, *n);
        }
        assert!(lead.equal(old), "{name}: old channels moved");
    }
    assert!(grown > 0);
    assert_eq!(wide.op_mask(), net.op_mask());
    // Momentum buffers grow as their weights.
    for (i, (w_old, w_new)) in net.weights().iter().zip(wide.weights()).enumerate() {
        let state = w_old.ones_like();
        assert_eq!(widening.apply(i, &state).unwrap().size(), w_new.size());
    }
    let logits = wide.forward_t(&xs, true);
    assert_eq!(logits.size(), [2, 10]);
    assert!(bool::try_from(logits.isfinite().all()).unwrap());
    // Narrowing is refused.
    assert!(wide.widened(Some(4), 0).is_err());
}
