use std::path::Path;

use aca_core::{CoreError, Silent};
use aca_data::DatasetKind;
use aca_search::{files, search, EpochRecord, MethodKind, SearchConfig, SearchError};
use aca_space::{Genotype, OpSet};
use tch::Device;

fn small_config(data_dir: &Path, method: MethodKind, epochs: usize) -> SearchConfig {
    let mut c = SearchConfig::tiny(method);
    c.epochs = epochs;
    c.data.dataset = DatasetKind::Mnist;
    c.data.data_dir = Some(data_dir.into());
    c.data.resize = Some(8);
    c.data.batch_size = 16;
    c.data.split_mut().train_limit = Some(48);
    c.data.split_mut().valid_limit = Some(40);
    c.network.channels = 4;
    c.network.layers = 3;
    c
}

fn records(dir: &Path) -> Vec<EpochRecord> {
    std::fs::read_to_string(dir.join(files::METRICS))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn resume_is_bit_identical() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 400, 50).unwrap();
    for method in [
        MethodKind::Darts,
        MethodKind::Darts2,
        MethodKind::PcDarts,
        MethodKind::BetaDarts,
        MethodKind::DartsMinus,
        MethodKind::SdartsRs,
        MethodKind::SdartsAdv,
        MethodKind::FairDarts,
        MethodKind::Drnas,
    ] {
        let mut cfg = small_config(data.path(), method, 2);
        cfg.arch_start_epoch = 0;
        if method == MethodKind::DartsMinus {
            cfg.space = aca_space::Space::Darts;
        }
        // Two epochs leave FairDARTS's sigmoid weights under its threshold: DARTS's cell.
        cfg.method_options.fair_darts.rule = aca_search::FairDartsRule::Darts;
        let whole = tempfile::tempdir().unwrap();
        search(&cfg, whole.path(), Device::Cpu, false, &Silent).unwrap();

        let rolled = tempfile::tempdir().unwrap();
        one_epoch_then_resume(&cfg, rolled.path());

        let a = std::fs::read(whole.path().join(files::CHECKPOINT)).unwrap();
        let b = std::fs::read(rolled.path().join(files::CHECKPOINT)).unwrap();
        assert!(a == b, "{method}: checkpoints differ after resume");
        assert_eq!(records(whole.path()).len(), 2);
        let (ra, rb) = (records(whole.path()), records(rolled.path()));
        assert_eq!(ra.len(), rb.len());
        for (x, y) in ra.iter().zip(&rb) {
            assert_eq!(x.alphas_normal, y.alphas_normal, "{method}");
            assert_eq!(x.train_loss, y.train_loss, "{method}");
            assert_eq!(x.genotype, y.genotype, "{method}");
        }
        assert_eq!(
            std::fs::read(whole.path().join(files::ALPHAS)).unwrap(),
            std::fs::read(rolled.path().join(files::ALPHAS)).unwrap()
        );
    }
}

/// Runs epoch 0 of a 2-epoch search, stops as an interruption would (the observer panics at the
/// start of epoch 1, after the epoch-0 checkpoint), then resumes.
fn one_epoch_then_resume(cfg: &SearchConfig, dir: &Path) {
    interrupt_after_one_epoch(cfg, dir);
    let err = search(cfg, dir, Device::Cpu, false, &Silent).unwrap_err();
    assert!(
        matches!(&err, SearchError::Core(CoreError::RunExists { .. }))
            && err.to_string().ends_with("it already holds a search"),
        "{err}"
    );
    let out = search(cfg, dir, Device::Cpu, true, &Silent).unwrap();
    assert_eq!(out.epochs_run, 1);
}

/// A 3-epoch search stopped after its first epoch, whose checkpoint tensor ending with `suffix`
/// is then overwritten with `value`: (config, run directory, checkpoint path).
fn poisoned_after_one_epoch(
    data: &Path,
    suffix: &str,
    value: f64,
) -> (SearchConfig, tempfile::TempDir, std::path::PathBuf) {
    let cfg = small_config(data, MethodKind::Darts, 3);
    let dir = tempfile::tempdir().unwrap();
    interrupt_after_one_epoch(&cfg, dir.path());
    let path = dir.path().join(files::CHECKPOINT);
    poison_checkpoint(&path, suffix, value);
    (cfg, dir, path)
}

/// Overwrites every value of the checkpoint tensor whose name ends with `suffix`.
fn poison_checkpoint(path: &Path, suffix: &str, value: f64) {
    let (tensors, state): (Vec<(String, tch::Tensor)>, serde_json::Value) =
        aca_core::load_checkpoint(path).unwrap();
    let poisoned: Vec<(String, tch::Tensor)> = tensors
        .into_iter()
        .map(|(n, t)| {
            let t = if n.ends_with(suffix) {
                t.fill(value)
            } else {
                t
            };
            (n, t)
        })
        .collect();
    aca_core::save_checkpoint(path, &poisoned, &state).unwrap();
}

fn interrupt_after_one_epoch(cfg: &SearchConfig, dir: &Path) {
    interrupt_at(cfg, dir, 1);
}

/// Runs a search until `epoch` starts (0-based), then stops it as an interruption would.
fn interrupt_at(cfg: &SearchConfig, dir: &Path, epoch: usize) {
    struct StopAt(usize);
    impl aca_core::Observer<EpochRecord> for StopAt {
        fn epoch_started(&self, epoch: usize, _: usize, _: usize) {
            if epoch == self.0 {
                std::panic::panic_any("interrupted");
            }
        }
    }
    let interrupted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        search(cfg, dir, Device::Cpu, false, &StopAt(epoch))
    }));
    assert!(interrupted.is_err());
    assert_eq!(records(dir).len(), epoch);
    assert!(!dir.join(files::GENOTYPE_JSON).exists());
}

#[test]
fn a_progressive_search_prunes_widens_and_resumes_across_its_stage_change() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 400, 50).unwrap();
    let mut cfg = small_config(data.path(), MethodKind::Drnas, 4);
    cfg.space = aca_space::Space::Darts;
    // C / K even in both stages (skip_connect's FactorizedReduce at stride 2).
    cfg.network.channels = 8;
    cfg.arch_start_epoch = 0;
    cfg.stages[1].keep_ops = Some(3);
    let whole = tempfile::tempdir().unwrap();
    search(&cfg, whole.path(), Device::Cpu, false, &Silent).unwrap();
    // The final alphas keep 3 ops per edge (the pruned ones weigh 0), and the genotype picks
    // kept ops.
    let arch = aca_space::ArchParams::read(&whole.path().join(files::ALPHAS)).unwrap();
    let kept = arch
        .kept
        .clone()
        .expect("a pruned search records its op mask");
    let weights = arch.op_weights(aca_space::CellType::Normal);
    for (row, flags) in weights.outer_iter().zip(&kept.normal) {
        assert_eq!(flags.iter().filter(|&&k| k).count(), 3);
        for (v, k) in row.iter().zip(flags) {
            assert!(*k || *v == 0.0, "a pruned op weighs {v}");
        }
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
    let g = Genotype::read(&whole.path().join(files::GENOTYPE_JSON)).unwrap();
    let ops = cfg.op_set().unwrap();
    for (i, &(op, input)) in g.cell(aca_space::CellType::Normal).iter().enumerate() {
        let edge = aca_space::topology::node_offset(i / 2) + input;
        assert!(
            kept.normal[edge][ops.index_of(op).unwrap()],
            "{op} on edge {edge} was pruned"
        );
    }
    // The saved supernet is the widened one, and reopens with its mask.
    let net = aca_search::open_supernet(whole.path(), &cfg, Device::Cpu).unwrap();
    assert_eq!(net.config().partial_channels, Some(2));
    assert_eq!(net.op_mask(), Some(&kept));
    // Interrupted in the second stage (its checkpoint holds the widened supernet) and resumed:
    // the same search to the bit.
    let rolled = tempfile::tempdir().unwrap();
    interrupt_at(&cfg, rolled.path(), 3);
    search(&cfg, rolled.path(), Device::Cpu, true, &Silent).unwrap();
    for file in [files::CHECKPOINT, files::ALPHAS, files::GENOTYPE_JSON] {
        let a = std::fs::read(whole.path().join(file)).unwrap();
        let b = std::fs::read(rolled.path().join(file)).unwrap();
        assert!(a == b, "{file} differs after a resume in the second stage");
    }
}

#[test]
fn resume_with_another_config_is_refused() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 400, 50).unwrap();
    let cfg = small_config(data.path(), MethodKind::Darts, 1);
    let dir = tempfile::tempdir().unwrap();
    search(&cfg, dir.path(), Device::Cpu, false, &Silent).unwrap();
    let mut other = cfg.clone();
    other.seed = 99;
    let err = search(&other, dir.path(), Device::Cpu, true, &Silent).unwrap_err();
    assert!(
        matches!(err, SearchError::Core(CoreError::RunDir { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("config.json differs"), "{err}");

    // An edited config.json (what `aca search --resume` reads) is refused too, naming the fields.
    let mut two = cfg.clone();
    two.epochs = 2;
    let dir = tempfile::tempdir().unwrap();
    interrupt_after_one_epoch(&two, dir.path());
    let path = dir.path().join(files::CONFIG);
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    saved["epochs"] = 3.into();
    saved["seed"] = 7.into();
    std::fs::write(&path, saved.to_string()).unwrap();
    let edited: SearchConfig = serde_json::from_value(saved).unwrap();
    let err = search(&edited, dir.path(), Device::Cpu, true, &Silent).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("another configuration") && text.contains("epochs") && text.contains("seed"),
        "{text}"
    );
    assert_eq!(records(dir.path()).len(), 1, "nothing was added");
}

#[test]
fn divergence_stops_with_a_clear_error_and_keeps_the_checkpoint() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 400, 50).unwrap();
    // A run whose weights went bad after its first epoch (a NaN in the classifier, as an
    // exploding run leaves them): the resume stops at its first step with the divergence error
    // and keeps the checkpoint of epoch 1.
    let (cfg, dir, path) = poisoned_after_one_epoch(data.path(), "classifier.weight", f64::NAN);
    let before = std::fs::read(&path).unwrap();
    let err = search(&cfg, dir.path(), Device::Cpu, true, &Silent).unwrap_err();
    assert!(
        matches!(err, SearchError::Core(CoreError::Diverged { .. })),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("the search diverged") && text.contains("1 epochs completed"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the checkpoint is kept"
    );
    assert!(!dir.path().join(files::GENOTYPE_JSON).exists());
}

#[test]
fn a_nan_validation_loss_stops_the_search_too() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 400, 50).unwrap();
    // A negative running variance: training mode (batch statistics) stays finite, evaluation mode
    // (running statistics) gives NaN — a validation loss of NaN with finite training losses.
    let (cfg, dir, _) = poisoned_after_one_epoch(data.path(), "stem.bn.running_var", -1e6);
    let err = search(&cfg, dir.path(), Device::Cpu, true, &Silent).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            SearchError::Core(CoreError::Diverged {
                which: "validation",
                ..
            })
        ),
        "{text}"
    );
    assert_eq!(
        records(dir.path()).len(),
        1,
        "no record with a NaN was written"
    );
}

#[test]
fn robust_methods_refuse_meaningless_combinations() {
    let mut c = SearchConfig::tiny(MethodKind::DartsMinus);
    assert!(c.network.auxiliary_skip);
    c.space = aca_space::Space::Aca;
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("meaningless") && e.contains("skip_connect"),
        "{e}"
    );
    let mut c = SearchConfig::tiny(MethodKind::Darts);
    c.network.auxiliary_skip = true;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("use method darts-minus"), "{e}");
    let mut c = SearchConfig::tiny(MethodKind::BetaDarts);
    c.method_options.beta_darts.lambda_max = -1.0;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("lambda_max"), "{e}");
    // The relaxation is the method's.
    let mut c = SearchConfig::tiny(MethodKind::Darts);
    c.network.relaxation = aca_space::Relaxation::Sigmoid;
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("network.relaxation = sigmoid") && e.contains("darts uses softmax"),
        "{e}"
    );
    let mut c = SearchConfig::tiny(MethodKind::FairDarts);
    c.method_options.fair_darts.threshold = 1.5;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("fair_darts.threshold"), "{e}");
    let mut c = SearchConfig::tiny(MethodKind::SdartsAdv);
    c.method_options.sdarts.pgd_steps = 0;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("pgd_steps"), "{e}");
    // Every other method composes with both op sets.
    for m in MethodKind::ALL {
        if m != MethodKind::DartsMinus {
            for space in ["aca", "darts"] {
                let mut c = SearchConfig::tiny(m);
                c.space = space.parse().unwrap();
                c.validate()
                    .unwrap_or_else(|e| panic!("{m} in {space}: {e}"));
            }
        }
    }
}

#[test]
fn bad_configs_are_named() {
    let _serial = crate::serial();
    // An unknown space is refused where it is read, naming it.
    let e = serde_json::from_str::<SearchConfig>(r#"{"space": "nasbench"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown variant `nasbench`"), "{e}");
    let e = "nasbench"
        .parse::<aca_space::Space>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown op set `nasbench`"), "{e}");
    let mut c = SearchConfig::tiny(MethodKind::Darts);
    c.network.partial_channels = Some(4);
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("use method pc-darts"));
    // Stages are DrNAS's, and must fit the network.
    let mut c = SearchConfig::tiny(MethodKind::Darts);
    c.stages = SearchConfig::tiny(MethodKind::Drnas).stages;
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("stages") && e.contains("use method drnas"),
        "{e}"
    );
    let mut c = SearchConfig::tiny(MethodKind::Drnas);
    c.stages[1].partial_channels = Some(8);
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("not narrow them"), "{e}");
    let mut c = SearchConfig::tiny(MethodKind::Drnas);
    c.stages[0].keep_ops = Some(4);
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("keep_ops in stage 1"), "{e}");
    let mut c = SearchConfig::tiny(MethodKind::Drnas);
    c.network.partial_channels = Some(2);
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("the first stage's partial_channels"), "{e}");
    let mut c = SearchConfig::paper(MethodKind::PcDarts);
    c.epochs = 10;
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("arch_start_epoch = 15: no architecture update would happen in 10 epochs"),
        "{e}"
    );
    let e = serde_json::from_str::<SearchConfig>(r#"{"epoch": 3}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `epoch`"), "{e}");
}

#[test]
fn paper_presets_hold_the_papers_values() {
    let _serial = crate::serial();
    let d = SearchConfig::paper(MethodKind::Darts2);
    assert_eq!(
        (
            d.epochs,
            d.data.batch_size,
            d.network.channels,
            d.network.layers
        ),
        (50, 64, 16, 8)
    );
    assert_eq!(
        (d.weight_optimizer.lr, d.lr_min, d.grad_clip),
        (0.025, 0.001, 5.0)
    );
    assert_eq!(
        (
            d.arch_optimizer.lr,
            d.arch_optimizer.betas,
            d.arch_optimizer.weight_decay
        ),
        (3e-4, (0.5, 0.999), 1e-3)
    );
    assert_eq!(d.data.split().portion, 0.5);
    let p = SearchConfig::paper(MethodKind::PcDarts);
    assert_eq!(
        (
            p.data.batch_size,
            p.weight_optimizer.lr,
            p.lr_min,
            p.arch_optimizer.lr,
            p.arch_start_epoch
        ),
        (256, 0.1, 0.0, 6e-4, 15)
    );
    assert_eq!(p.network.partial_channels, Some(4));
    d.validate().unwrap();
    p.validate().unwrap();
    let f = SearchConfig::paper(MethodKind::FairDarts);
    assert_eq!(
        (
            f.data.batch_size,
            f.weight_optimizer.lr,
            f.lr_min,
            f.arch_optimizer.lr,
            f.arch_optimizer.betas,
            f.arch_optimizer.weight_decay
        ),
        (128, 0.005, 0.001, 3e-3, (0.9, 0.999), 1e-3)
    );
    assert_eq!(f.network.relaxation, aca_space::Relaxation::Sigmoid);
    let r = SearchConfig::paper(MethodKind::Drnas);
    assert_eq!(
        (
            r.weight_optimizer.lr,
            r.lr_min,
            r.arch_optimizer.lr,
            r.arch_optimizer.weight_decay,
            r.arch_start_epoch
        ),
        (0.1, 0.0, 6e-4, 0.0, 10)
    );
    assert_eq!(r.network.relaxation, aca_space::Relaxation::Dirichlet);
    // DrNAS's progressive supernet: 20 cells at C = 36, K = 6 then 4, 4 ops kept, 25 + 25
    // epochs, architecture from epoch 10 of each stage, batch 64, its 7-op set.
    assert_eq!(
        (
            r.network.layers,
            r.network.channels,
            r.data.batch_size,
            r.epochs
        ),
        (20, 36, 64, 50)
    );
    let stages: Vec<_> = r
        .stages
        .iter()
        .map(|s| (s.epochs, s.partial_channels, s.keep_ops))
        .collect();
    assert_eq!(stages, [(25, Some(6), None), (25, Some(4), Some(4))]);
    assert_eq!(r.stage_spans(), [0..25, 25..50]);
    let updates: Vec<usize> = (0..50).filter(|&e| r.updates_architecture_in(e)).collect();
    assert_eq!(updates, (10..25).chain(35..50).collect::<Vec<_>>());
    assert_eq!(r.op_set().unwrap().len(), 7);
    f.validate().unwrap();
    r.validate().unwrap();
    // Another length keeps the stages' shares: 40 epochs are 20 + 20.
    let mut r40 = r.clone();
    r40.epochs = 40;
    assert_eq!(r40.stage_spans(), [0..20, 20..40]);
    r40.epochs = 15;
    let e = r40.validate().unwrap_err().to_string();
    assert!(e.contains("counts from each stage's start"), "{e}");
    // The tiny preset's measured deviation (batch 16, Adam lr 3e-2) stays out of the paper's.
    let t = SearchConfig::tiny(MethodKind::Darts);
    assert_eq!((t.data.batch_size, t.arch_optimizer.lr), (16, 3e-2));
}

#[test]
fn tiny_search_on_real_fashion_mnist_learns_and_writes_every_file() {
    let _serial = crate::serial();
    if !aca_data::fashion_mnist_for_tests() {
        return;
    }
    let mut cfg = SearchConfig::tiny(MethodKind::Darts);
    cfg.epochs = 3;
    cfg.data.split_mut().train_limit = Some(320);
    cfg.data.split_mut().valid_limit = Some(320);
    cfg.network.channels = 4;
    cfg.network.layers = 3;
    let dir = tempfile::tempdir().unwrap();
    let out = search(&cfg, dir.path(), Device::Cpu, false, &Silent).unwrap();
    for f in [
        files::CONFIG,
        files::METRICS,
        files::CHECKPOINT,
        files::GENOTYPE_JSON,
        files::GENOTYPE_TXT,
        files::ALPHAS,
        files::SUPERNET,
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let r = records(dir.path());
    assert_eq!(r.len(), 3);
    assert!(
        r[2].train_loss < r[0].train_loss,
        "train loss {} -> {}",
        r[0].train_loss,
        r[2].train_loss
    );
    assert!(r[2].valid_acc > 0.3, "valid acc {}", r[2].valid_acc);
    assert!(r
        .iter()
        .all(|x| x.skip_normal == 0 && x.alphas_normal[0].len() == 7));
    out.genotype.validate_for(&OpSet::aca()).unwrap();
    let text = std::fs::read_to_string(dir.path().join(files::GENOTYPE_TXT)).unwrap();
    assert_eq!(Genotype::from_darts(text.trim()).unwrap(), out.genotype);
    let saved: SearchConfig =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(files::CONFIG)).unwrap())
            .unwrap();
    assert_eq!(
        (saved.network.classes, saved.network.image_channels),
        (10, 1)
    );
    let arch = aca_space::ArchParams::read(&dir.path().join(files::ALPHAS)).unwrap();
    assert_eq!(arch.derive(&OpSet::aca()).unwrap(), out.genotype);
}

#[test]
fn fair_darts_derives_a_sparse_cell_or_says_why_not() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 400, 50).unwrap();
    let mut cfg = small_config(data.path(), MethodKind::FairDarts, 2);
    cfg.arch_start_epoch = 0;
    // A threshold no sigmoid weight reaches in two epochs: every epoch records DARTS's cell on
    // the same weights, and the search ends with an error that keeps the alphas.
    cfg.method_options.fair_darts.threshold = 0.999;
    let dir = tempfile::tempdir().unwrap();
    let e = search(&cfg, dir.path(), Device::Cpu, false, &Silent)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the threshold rule keeps no op of the normal cell")
            && e.contains("alphas.json")
            && e.contains("fair_darts.rule"),
        "{e}"
    );
    let arch = aca_space::ArchParams::read(&dir.path().join(files::ALPHAS)).unwrap();
    let r = records(dir.path());
    assert_eq!(r.len(), 2);
    let dense = arch.derive(&OpSet::aca()).unwrap();
    assert_eq!(r[1].genotype, dense.to_darts());
    // A threshold the chosen ops pass in part (their sigmoid weights, which the zero-one loss
    // pushes off 0.5): the search's genotype is the sparse cell of its alphas.
    let chosen = |cell| -> Vec<f32> {
        let weights = arch.weights(cell);
        let mut w: Vec<f32> = dense
            .cell(cell)
            .iter()
            .enumerate()
            .map(|(i, &(op, input))| {
                let edge = aca_space::topology::node_offset(i / 2) + input;
                weights[[edge, OpSet::aca().index_of(op).unwrap()]]
            })
            .collect();
        w.sort_by(f32::total_cmp);
        w
    };
    let threshold =
        chosen(aca_space::CellType::Normal)[4].min(chosen(aca_space::CellType::Reduce)[7]);
    cfg.method_options.fair_darts.threshold = f64::from(threshold);
    let dir = tempfile::tempdir().unwrap();
    let out = search(&cfg, dir.path(), Device::Cpu, false, &Silent).unwrap();
    assert_eq!(out.arch, arch, "the same search up to its genotype");
    assert_eq!(
        out.genotype,
        arch.derive_sparse(&OpSet::aca(), threshold).unwrap()
    );
    assert!(out.genotype.is_sparse());
    let text = std::fs::read_to_string(dir.path().join(files::GENOTYPE_TXT)).unwrap();
    assert_eq!(Genotype::from_darts(text.trim()).unwrap(), out.genotype);
    // DARTS's rule on the same weights when the options say so.
    cfg.method_options.fair_darts.rule = aca_search::FairDartsRule::Darts;
    let dir = tempfile::tempdir().unwrap();
    let out = search(&cfg, dir.path(), Device::Cpu, false, &Silent).unwrap();
    assert_eq!(out.genotype, dense);
}

#[test]
fn snapshots_hold_a_finished_search_of_their_epoch() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 400, 50).unwrap();
    let mut cfg = small_config(data.path(), MethodKind::Darts, 3);
    cfg.snapshot_epochs = vec![1];
    cfg.snapshot_every = Some(2);
    let run = tempfile::tempdir().unwrap();
    search(&cfg, run.path(), Device::Cpu, false, &Silent).unwrap();
    let recs = records(run.path());
    for epoch in [1, 2] {
        let snap = aca_search::search_at_epoch(run.path(), Some(epoch)).unwrap();
        assert_eq!(snap, aca_search::snapshot_dir(run.path(), epoch));
        for f in [
            files::CONFIG,
            files::GENOTYPE_JSON,
            files::GENOTYPE_TXT,
            files::ALPHAS,
            files::SUPERNET,
        ] {
            assert!(snap.join(f).is_file(), "epoch {epoch}: {f} missing");
        }
        let g = Genotype::read(&snap.join(files::GENOTYPE_JSON)).unwrap();
        assert_eq!(
            g,
            Genotype::from_darts(&recs[epoch - 1].genotype).unwrap(),
            "epoch {epoch}"
        );
        let alphas = aca_space::ArchParams::read(&snap.join(files::ALPHAS)).unwrap();
        let soft = aca_space::softmax_rows(alphas.normal.view());
        assert_eq!(soft.row(0).to_vec(), recs[epoch - 1].alphas_normal[0]);
    }
    // The final epoch is the run directory itself; epochs never kept are refused by name.
    assert_eq!(
        aca_search::search_at_epoch(run.path(), Some(3)).unwrap(),
        run.path()
    );
    let err = aca_search::search_at_epoch(run.path(), Some(5))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no snapshot of epoch 5") && err.contains("kept: 1, 2"),
        "{err}"
    );
    assert!(!run.path().join("snapshots/.epoch-001.partial").exists());
    // A run directory that merely sits in a folder named `snapshots` is no snapshot: its
    // checkpoint and metrics stay when the final results are written.
    let parent = tempfile::tempdir().unwrap();
    let named = parent.path().join("snapshots").join("run");
    let mut one = small_config(data.path(), MethodKind::Darts, 1);
    one.snapshot_epochs.clear();
    search(&one, &named, Device::Cpu, false, &Silent).unwrap();
    for f in [files::CHECKPOINT, files::METRICS, files::GENOTYPE_JSON] {
        assert!(named.join(f).is_file(), "{f} lost");
    }
    // Snapshot epochs outside the search are refused.
    cfg.snapshot_epochs = vec![4];
    let err = cfg.validate().unwrap_err().to_string();
    assert!(
        err.contains("snapshot_epochs") && err.contains('4'),
        "{err}"
    );
}

#[test]
fn metrics_say_whether_the_architecture_learned() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 400, 50).unwrap();
    let mut cfg = small_config(data.path(), MethodKind::Darts, 2);
    cfg.arch_optimizer.lr = 0.05;
    let run = tempfile::tempdir().unwrap();
    let out = search(&cfg, run.path(), Device::Cpu, false, &Silent).unwrap();
    let recs = records(run.path());
    let (first, last) = (recs[0].learning.unwrap(), recs[1].learning.unwrap());
    assert!((last.shift - out.learning.shift).abs() < 1e-9 * last.shift);
    // A large architecture learning rate moves the alphas far beyond their 1e-3 noise.
    assert!(
        last.shift > first.shift && last.shift > aca_space::LEARNED_SHIFT,
        "{last:?}"
    );
    assert!(last.entropy_normal < last.uniform_entropy);
    assert!((last.uniform_entropy - 7f64.ln()).abs() < 1e-9);
    assert!(recs.iter().all(|r| r.param_free_normal >= r.skip_normal));
}

#[test]
fn the_random_baseline_trains_weights_only_and_draws_its_genotype_from_the_seed() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 400, 50).unwrap();
    let cfg = small_config(data.path(), MethodKind::Random, 1);
    let run = tempfile::tempdir().unwrap();
    let out = search(&cfg, run.path(), Device::Cpu, false, &Silent).unwrap();
    let ops = OpSet::aca();
    assert_eq!(out.genotype, Genotype::random(&ops, cfg.seed).unwrap());
    assert_eq!(out.learning.shift, 0.0, "no architecture step was taken");
    let rec = &records(run.path())[0];
    assert!(!rec.arch_updates && rec.arch_loss.is_none());
    assert_eq!(rec.genotype, out.genotype.to_darts());
}

#[test]
fn a_second_process_on_a_search_directory_is_refused() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 400, 50).unwrap();
    let cfg = small_config(data.path(), MethodKind::Darts, 1);
    let run = tempfile::tempdir().unwrap();
    let held = aca_core::RunLock::acquire(run.path()).unwrap();
    let err = search(&cfg, run.path(), Device::Cpu, false, &Silent).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("in use by another aca process")
            && text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
    assert!(
        !run.path().join(files::METRICS).exists(),
        "nothing is written"
    );
    assert!(
        !run.path().join(files::CONFIG).exists(),
        "nothing is written"
    );
    drop(held);
    search(&cfg, run.path(), Device::Cpu, false, &Silent).unwrap();
}

#[test]
fn every_method_name_parses_and_prints_back() {
    for m in MethodKind::ALL {
        assert_eq!(m.name().parse::<MethodKind>().unwrap(), m);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, format!("\"{}\"", m.name()));
    }
}
