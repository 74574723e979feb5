use std::path::Path;

use aca_data::Batch;
use aca_eval::{
    allocate, files, kept_edges, test_run, train, ChannelPlan, EdgeScores, EvalNetConfig,
    EvalNetwork, ScorerKind, Setting, Strategy, Taylor, TrainConfig,
};
use aca_space::nn::{cross_entropy, SearchNetConfig, SearchNetwork};
use aca_space::{CellType, Concat, Genotype, OpSet, Primitive};
use tch::{Device, Kind, Tensor};

fn sep_genotype() -> Genotype {
    let pairs = [(Primitive::SepConv3x3, 0), (Primitive::SepConv3x3, 1)].repeat(4);
    Genotype::new(
        pairs.clone(),
        Concat::intermediate(),
        pairs,
        Concat::intermediate(),
    )
    .unwrap()
}

fn tiny_supernet() -> SearchNetwork {
    let cfg = SearchNetConfig {
        channels: 4,
        layers: 3,
        classes: 3,
        image_channels: 1,
        ..Default::default()
    };
    let mut net = SearchNetwork::new(&cfg, &OpSet::aca(), Device::Cpu).unwrap();
    net.set_kind(Kind::Double);
    net
}

fn batch() -> Batch {
    Batch {
        images: Tensor::randn([6, 1, 8, 8], (Kind::Double, Device::Cpu)),
        labels: Tensor::randint(3, [6], (Kind::Int64, Device::Cpu)),
    }
}

/// Taylor scores of `g`'s edges in `net` on the one batch `b`.
fn taylor_on(net: &SearchNetwork, g: &Genotype, b: &Batch) -> [EdgeScores; 2] {
    let batch = Batch {
        images: b.images.shallow_clone(),
        labels: b.labels.shallow_clone(),
    };
    Taylor
        .score_batches(net, g, &mut std::iter::once(Ok(batch)))
        .unwrap()
}

/// The tensor of the network named `name`.
fn tensor(net: &SearchNetwork, name: &str) -> Tensor {
    net.named_tensors()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .1
}

/// Makes channel `c` of normal edge 0's sep_conv output a pure scale `s` of its pre-BN value:
/// the running mean of its last BN is zeroed and its last 1x1 conv row scaled.
fn set_channel_scale(net: &SearchNetwork, cell: usize, c: i64, s: f64) {
    let base = format!("weights.cell{cell}.edge0.sep_conv_3x3");
    tch::no_grad(|| {
        let _ = tensor(net, &format!("{base}.bn2.running_mean"))
            .get(c)
            .fill_(0.0);
        let _ = tensor(net, &format!("{base}.pw2.weight"))
            .get(c)
            .f_mul_scalar_(s)
            .unwrap();
    });
}

#[test]
fn taylor_score_of_a_zeroed_channel_is_zero() {
    let _serial = crate::serial();
    tch::manual_seed(6);
    let net = tiny_supernet();
    // Of 3 cells, cell 0 is normal; cells 1 and 2 (3/3 and 6/3) reduce.
    set_channel_scale(&net, 0, 2, 0.0);
    let g = sep_genotype();
    let mut batches = (0..2).map(|_| Ok(batch()));
    let scores = Taylor.score_batches(&net, &g, &mut batches).unwrap();
    assert_eq!(scores[0].len(), 8, "one entry per kept normal edge");
    assert_eq!(scores[0][0].len(), 1, "one normal cell");
    assert_eq!(scores[1][0].len(), 2, "two reduction cells");
    assert_eq!(scores[0][0][0].len(), 4, "C = 4 channels");
    assert_eq!(scores[0][0][0][2], 0.0);
    assert!(
        scores[0][0][0]
            .iter()
            .enumerate()
            .all(|(c, &v)| c == 2 || v > 0.0),
        "{:?}",
        scores[0][0][0]
    );
}

#[test]
fn a_sparse_cell_scores_and_allocates_only_its_kept_ops() {
    let _serial = crate::serial();
    tch::manual_seed(8);
    let net = tiny_supernet();
    let full = sep_genotype();
    // FairDARTS's threshold rule dropped normal edges 1 and 3 (`none`).
    let mut pairs = full.cell(CellType::Normal).to_vec();
    pairs[1].0 = Primitive::None;
    pairs[3].0 = Primitive::None;
    let sparse = Genotype::new(
        pairs,
        Concat::intermediate(),
        full.cell(CellType::Reduce).to_vec(),
        Concat::intermediate(),
    )
    .unwrap();
    let b = batch();
    let (of_full, of_sparse) = (taylor_on(&net, &full, &b), taylor_on(&net, &sparse, &b));
    assert_eq!(
        of_sparse[0].len(),
        8,
        "one entry per edge, dropped ones too"
    );
    assert!(of_sparse[0][1][0].is_empty() && of_sparse[0][3][0].is_empty());
    assert_eq!(
        of_sparse[0][0], of_full[0][0],
        "a kept op scores as in the full cell"
    );
    assert_eq!(of_sparse[1], of_full[1]);
    // A dropped edge keeps no channels for an op and gets no refill, whatever the strategy.
    let plan = allocate(&sparse, of_sparse, ScorerKind::Taylor, Strategy::Fixed(0.5)).unwrap();
    assert_eq!(plan.normal, [0.5, 1.0, 0.5, 1.0, 0.5, 0.5, 0.5, 0.5]);
    assert_eq!(
        plan.identity_share(CellType::Normal),
        0.5,
        "over the kept ops"
    );
    let table = plan.to_table();
    assert!(
        table.contains("normal  2     1     c_{k-1}  none            dropped         -"),
        "{table}"
    );
    let cfg = EvalNetConfig {
        channels: 4,
        layers: 3,
        classes: 3,
        image_channels: 1,
        auxiliary: false,
        setting: Setting::Cifar,
    };
    let eval = EvalNetwork::new(&plan, &cfg, Device::Cpu).unwrap();
    let dense = EvalNetwork::new(&ChannelPlan::full(full), &cfg, Device::Cpu).unwrap();
    assert!(eval.param_count() < dense.param_count());
    let x = Tensor::randn([2, 1, 8, 8], (Kind::Float, Device::Cpu));
    let out = eval.forward_t(&x, true);
    assert_eq!(out.logits.size(), [2, 3]);
}

#[test]
fn taylor_score_matches_a_finite_difference() {
    let _serial = crate::serial();
    tch::manual_seed(7);
    let net = tiny_supernet();
    let g = sep_genotype();
    let b = batch();
    set_channel_scale(&net, 0, 1, 1.0);
    let scores = taylor_on(&net, &g, &b);
    // sum(y * dL/dy) over channel 1 is the derivative of L when that channel is scaled by (1 + e).
    let h = 1e-5;
    let loss_at = |s: f64| {
        set_channel_scale(&net, 0, 1, s);
        let l = tch::no_grad(|| {
            cross_entropy(&net.forward_t(&b.images, false), &b.labels).double_value(&[])
        });
        set_channel_scale(&net, 0, 1, 1.0 / s);
        l
    };
    let fd = ((loss_at(1.0 + h) - loss_at(1.0 - h)) / (2.0 * h)).abs();
    let ours = f64::from(scores[0][0][0][1]);
    assert!(fd > 0.0);
    assert!(
        (ours - fd).abs() / fd < 1e-4,
        "taylor {ours} vs finite difference {fd}"
    );
    assert_eq!(
        kept_edges(&g).unwrap()[0][2],
        (2, Primitive::SepConv3x3),
        "node 3's edge from state 0 is edge 2"
    );
}

fn small_train_config(data: &Path, epochs: usize) -> TrainConfig {
    let mut c = TrainConfig::tiny();
    c.epochs = epochs;
    c.data.dataset = aca_data::DatasetKind::Mnist;
    c.data.data_dir = Some(data.into());
    c.data.resize = Some(8);
    c.data.batch_size = 16;
    c.data.train_limit = Some(64);
    c.network.channels = 4;
    c.network.layers = 3;
    c.drop_path = 0.2;
    c
}

/// One epoch of a 3-cell, 4-channel supernet on 32 + 32 MNIST images at 8x8 in `data`.
fn small_search(c: &mut aca_search::SearchConfig, data: &Path) {
    c.epochs = 1;
    c.data.dataset = aca_data::DatasetKind::Mnist;
    c.data.data_dir = Some(data.into());
    c.data.resize = Some(8);
    c.data.batch_size = 16;
    c.data.split_mut().train_limit = Some(32);
    c.data.split_mut().valid_limit = Some(32);
    c.network.channels = 4;
    c.network.layers = 3;
}

fn half_plan() -> ChannelPlan {
    let mut plan = ChannelPlan::full(aca_space::published("pc_darts").unwrap());
    plan.normal = vec![0.5; 8];
    plan.reduce = vec![0.5; 8];
    plan
}

#[test]
fn training_resume_is_bit_identical() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 200, 100).unwrap();
    let cfg = small_train_config(data.path(), 2);
    let plan = half_plan();
    let whole = tempfile::tempdir().unwrap();
    let r1 = train(
        &plan,
        &cfg,
        whole.path(),
        Device::Cpu,
        false,
        &aca_core::Silent,
    )
    .unwrap();

    struct StopAtEpoch1;
    impl aca_core::Observer<aca_eval::TrainRecord> for StopAtEpoch1 {
        fn epoch_started(&self, epoch: usize, _: usize, _: usize) {
            if epoch == 1 {
                std::panic::panic_any("interrupted");
            }
        }
    }
    let split = tempfile::tempdir().unwrap();
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(&plan, &cfg, split.path(), Device::Cpu, false, &StopAtEpoch1)
    }));
    assert!(stopped.is_err());
    assert!(!split.path().join(files::RESULTS).exists());
    let r2 = train(
        &plan,
        &cfg,
        split.path(),
        Device::Cpu,
        true,
        &aca_core::Silent,
    )
    .unwrap();
    assert_eq!(r1, r2);
    assert_eq!(
        std::fs::read(whole.path().join(files::MODEL)).unwrap(),
        std::fs::read(split.path().join(files::MODEL)).unwrap(),
        "final weights differ"
    );
    let m1 = std::fs::read_to_string(whole.path().join(files::METRICS)).unwrap();
    let m2 = std::fs::read_to_string(split.path().join(files::METRICS)).unwrap();
    let strip = |m: &str| {
        m.lines()
            .map(|l| l.split(",\"seconds\"").next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&m1), strip(&m2));
    // `aca test` reproduces the final numbers.
    let (acc, n) = test_run(whole.path(), Device::Cpu).unwrap();
    assert_eq!(
        (acc.top1, acc.top5, n),
        (r1.test_top1, Some(r1.test_top5), 100)
    );
    // Another plan in the same folder is refused.
    let err = train(
        &ChannelPlan::full(aca_space::published("pc_darts").unwrap()),
        &cfg,
        whole.path(),
        Device::Cpu,
        true,
        &aca_core::Silent,
    )
    .unwrap_err();
    assert!(err.to_string().contains("differs"), "{err}");
}

#[test]
fn tiny_train_on_real_fashion_mnist_learns() {
    let _serial = crate::serial();
    if !aca_data::fashion_mnist_for_tests() {
        return;
    }
    let mut cfg = TrainConfig::tiny();
    cfg.epochs = 2;
    cfg.data.train_limit = Some(2000);
    cfg.network.channels = 8;
    cfg.network.layers = 5;
    let dir = tempfile::tempdir().unwrap();
    let r = train(
        &half_plan(),
        &cfg,
        dir.path(),
        Device::Cpu,
        false,
        &aca_core::Silent,
    )
    .unwrap();
    assert_eq!(r.test_images, 10_000);
    assert!(
        r.test_top1 > 0.5,
        "test accuracy {} (chance is 0.1)",
        r.test_top1
    );
    assert!(r.test_top5 >= r.test_top1);
    for f in [
        files::CONFIG,
        files::PLAN,
        files::METRICS,
        files::CHECKPOINT,
        files::MODEL,
        files::RESULTS,
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn allocate_run_writes_a_plan_with_each_scorer_and_strategy() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 200, 100).unwrap();
    let mut cfg = aca_search::SearchConfig::tiny(aca_search::MethodKind::Darts);
    small_search(&mut cfg, data.path());
    let run = tempfile::tempdir().unwrap();
    let found =
        aca_search::search(&cfg, run.path(), Device::Cpu, false, &aca_core::Silent).unwrap();
    for (scorer, strategy) in [
        ("taylor", "otsu"),
        ("bn-gamma", "otsu"),
        ("taylor", "fixed:0.5"),
        ("taylor", "all"),
    ] {
        let opts = aca_eval::AllocateOptions {
            scorer: scorer.parse().unwrap(),
            strategy: strategy.parse().unwrap(),
            batches: Some(1),
        };
        let plan_path = run.path().join("plan.json");
        let plan = aca_eval::allocate_run(run.path(), &plan_path, &opts, Device::Cpu).unwrap();
        assert_eq!(plan.genotype, found.genotype);
        let saved = ChannelPlan::read(&run.path().join("plan.json")).unwrap();
        assert_eq!(saved, plan);
        match strategy {
            "all" => assert!(plan.normal.iter().chain(&plan.reduce).all(|&f| f == 1.0)),
            "fixed:0.5" => assert!(plan.normal.iter().all(|&f| f == 0.5)),
            _ => {
                let scores = plan.scores.as_ref().unwrap();
                assert_eq!(scores[0].len(), 8);
                assert_eq!(
                    scores[0][0][0].len(),
                    4,
                    "{scorer}: C = 4 channels in the normal cell"
                );
                assert!(plan.normal.iter().all(|&f| f > 0.0 && f <= 1.0));
            }
        }
    }
    let err = aca_eval::allocate_run(
        data.path(),
        &data.path().join("plan.json"),
        &aca_eval::AllocateOptions::default(),
        Device::Cpu,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("not a finished search run"),
        "{err}"
    );
}

#[test]
fn run_contents_name_a_config_that_is_no_stage_and_read_run_json_through_the_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path();
    // Nothing written yet: an empty reading, no error.
    let empty = aca_eval::RunContents::read(run).unwrap();
    assert!(empty.search.is_none() && empty.train.is_none() && empty.plan.is_none());

    // A search folder whose config.json is neither a search's nor a training's.
    std::fs::create_dir_all(run.join("search")).unwrap();
    std::fs::write(run.join("search/config.json"), "{\"epochs\": \"ten\"}").unwrap();
    let err = aca_eval::RunContents::read(run).unwrap_err().to_string();
    assert!(
        err.contains("search/config.json")
            && err.contains("neither a search configuration")
            && err.contains("nor a training configuration"),
        "{err}"
    );

    // run.json round-trips through the layout, typed.
    let layout = aca_eval::RunLayout::new(run);
    assert!(!layout.has_state());
    let config = aca_eval::RunConfig::preset(
        aca_search::Preset::Tiny,
        aca_search::MethodKind::Darts,
        aca_space::Space::Aca,
    );
    assert_eq!(config.allocate.strategy, aca_eval::Strategy::OtsuLog);
    let state = aca_eval::RunState::new(aca_search::Preset::Tiny, config);
    layout.write_state(&state).unwrap();
    assert!(layout.has_state());
    assert_eq!(layout.read_state().unwrap(), state);
    assert_eq!(layout.search_epochs_done(), 0);
    std::fs::create_dir_all(layout.train_dir()).unwrap();
    std::fs::write(layout.train_dir().join("metrics.jsonl"), "{}\n{}\n\n").unwrap();
    assert_eq!(layout.train_epochs_done(), 2);
}

#[test]
fn label_smoothing_matches_darts_formula_and_is_plain_cross_entropy_at_zero() {
    use aca_eval::label_smoothed_cross_entropy;
    let logits = Tensor::from_slice(&[2.0f32, 0.5, -1.0, 0.0, 1.0, 3.0]).view([2, 3]);
    let labels = Tensor::from_slice(&[0i64, 2]);
    let plain = cross_entropy(&logits, &labels).double_value(&[]);
    assert_eq!(
        label_smoothed_cross_entropy(&logits, &labels, 0.0).double_value(&[]),
        plain
    );
    // DARTS's CrossEntropyLabelSmooth by hand: targets (1 - eps) one-hot + eps / K,
    // loss = mean over the batch of -sum(targets * log_softmax).
    let eps = 0.1;
    let rows = [[2.0f64, 0.5, -1.0], [0.0, 1.0, 3.0]];
    let mut by_hand = 0.0;
    for (row, label) in rows.iter().zip([0usize, 2]) {
        let norm = row.iter().map(|x| x.exp()).sum::<f64>().ln();
        for (k, x) in row.iter().enumerate() {
            let target = if k == label { 1.0 - eps } else { 0.0 } + eps / 3.0;
            by_hand -= target * (x - norm);
        }
    }
    by_hand /= 2.0;
    let smoothed = label_smoothed_cross_entropy(&logits, &labels, eps).double_value(&[]);
    assert!((smoothed - by_hand).abs() < 1e-6, "{smoothed} vs {by_hand}");
    assert!(
        smoothed > plain,
        "smoothing raises the loss of confident right answers"
    );
}

#[test]
fn the_exponential_schedule_and_label_smoothing_are_checked_and_left_out_when_default() {
    let mut c = TrainConfig::tiny();
    // Defaults write no new fields: configurations written before them read back equal.
    let json = serde_json::to_value(&c).unwrap();
    assert!(json.get("schedule").is_none() && json.get("label_smoothing").is_none());
    assert_eq!(
        c.lr(0),
        aca_core::Cosine {
            base: c.optimizer.lr,
            min: c.lr_min,
            epochs: c.epochs
        }
        .lr(0)
    );

    c.schedule = aca_eval::LrSchedule::Exponential { gamma: 0.97 };
    c.label_smoothing = 0.1;
    assert!((c.lr(2) - c.optimizer.lr * 0.97 * 0.97).abs() < 1e-15);
    let json = serde_json::to_string(&c).unwrap();
    assert!(
        json.contains(r#""schedule":{"exponential":{"gamma":0.97}}"#),
        "{json}"
    );
    let back: TrainConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    c.validate().unwrap();

    c.schedule = aca_eval::LrSchedule::Exponential { gamma: 1.5 };
    let err = c.validate().unwrap_err().to_string();
    assert!(
        err.contains("schedule.exponential.gamma") && err.contains("(0, 1]"),
        "{err}"
    );
    c.schedule = aca_eval::LrSchedule::Cosine;
    c.label_smoothing = 1.0;
    let err = c.validate().unwrap_err().to_string();
    assert!(
        err.contains("label_smoothing") && err.contains("[0, 1)"),
        "{err}"
    );
}

/// The pipeline as a downstream crate calls it: a silent observer (no report), every stage in
/// one run directory, the summary written; a second start there is refused, a resume of the
/// finished run redoes nothing and gives the same summary.
#[test]
fn the_pipeline_runs_as_one_library_call_and_resumes() {
    let _serial = crate::serial();
    let data = tempfile::tempdir().unwrap();
    aca_data::write_synthetic_mnist(data.path(), 200, 100).unwrap();
    let mut config = aca_eval::RunConfig::preset(
        aca_search::Preset::Tiny,
        aca_search::MethodKind::Darts,
        aca_space::Space::Aca,
    );
    small_search(&mut config.search, data.path());
    config.allocate.batches = Some(1);
    config.train = small_train_config(data.path(), 1);
    config.resolve().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let state = aca_eval::RunState::new(aca_search::Preset::Tiny, config);
    let pipeline = aca_eval::Pipeline::create(&run, state.clone()).unwrap();
    assert_eq!(pipeline.state(), &state);
    let summary = pipeline.run(Device::Cpu, &aca_core::Silent).unwrap();
    assert_eq!(summary.report, None);
    assert!(summary.top1 > 0.0 && summary.params > 0);
    let text = std::fs::read_to_string(run.join("summary.txt")).unwrap();
    assert_eq!(text, summary.render());
    assert!(text.contains("  report          none\n"), "{text}");
    let layout = aca_eval::RunLayout::new(&run);
    assert!(layout.search_done() && layout.train_done() && layout.plan().is_file());
    assert!(matches!(
        aca_eval::Pipeline::create(&run, state),
        Err(aca_eval::EvalError::RunExists { .. })
    ));
    let e = aca_eval::Pipeline::resume(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("no run.json: not an `aca run` directory to resume"),
        "{e}"
    );
    let again = aca_eval::Pipeline::resume(&run)
        .unwrap()
        .run(Device::Cpu, &aca_core::Silent)
        .unwrap();
    assert_eq!(
        (again.genotype, again.top1),
        (summary.genotype, summary.top1)
    );
    // run.json's seconds, read back (to within serde_json's float parsing): no stage ran again.
    assert!((again.seconds.search - summary.seconds.search).abs() < 1e-9);
    assert!((again.seconds.train - summary.seconds.train).abs() < 1e-9);
}
