//! Integration tests of `aca-core`.
#![allow(clippy::unwrap_used)]
use aca_core::{write_atomic, write_json_atomic, DeviceChoice};

#[test]
fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    write_atomic(&path, b"first version, longer").unwrap();
    write_json_atomic(&path, &serde_json::json!({"seed": 2})).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\n  \"seed\": 2\n}\n"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn atomic_write_into_missing_folder_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("x.json");
    let err = write_atomic(&path, b"x").unwrap_err().to_string();
    assert!(err.contains("missing/x.json"), "{err}");
}

#[test]
fn device_choice_parses_and_cpu_resolves() {
    assert_eq!(
        "cpu".parse::<DeviceChoice>().unwrap().resolve().unwrap(),
        tch::Device::Cpu
    );
    let err = "gpu".parse::<DeviceChoice>().unwrap_err().to_string();
    assert!(err.contains("expected auto, cpu or cuda"), "{err}");
    if !tch::Cuda::is_available() {
        assert!(DeviceChoice::Cuda.resolve().is_err());
        assert_eq!(DeviceChoice::Auto.resolve().unwrap(), tch::Device::Cpu);
    }
}

mod optim {
    use aca_core::{clip_grad_norm, Adam, AdamConfig, Sgd, SgdConfig};
    use tch::{Kind, Tensor};

    fn scalar(v: f64) -> Tensor {
        Tensor::from_slice(&[v]).to_kind(Kind::Double)
    }

    fn value(t: &Tensor) -> f64 {
        t.double_value(&[0])
    }

    #[test]
    fn sgd_matches_pytorch_rule_by_hand() {
        let p = scalar(1.0);
        let mut sgd = Sgd::new(
            SgdConfig {
                lr: 0.1,
                momentum: 0.9,
                weight_decay: 0.01,
            },
            1,
        );
        sgd.step(&[p.shallow_clone()], &[scalar(0.5)]).unwrap();
        // d = 0.5 + 0.01 * 1 = 0.51; buf = d; p = 1 - 0.1 * 0.51.
        assert!((value(&p) - 0.949).abs() < 1e-12);
        sgd.step(&[p.shallow_clone()], &[scalar(0.5)]).unwrap();
        // d = 0.5 + 0.01 * 0.949; buf = 0.9 * 0.51 + d; p -= 0.1 * buf.
        let d = 0.5 + 0.01 * 0.949;
        let buf = 0.9 * 0.51 + d;
        assert!((value(&p) - (0.949 - 0.1 * buf)).abs() < 1e-12);
        assert!((value(sgd.momentum_buffer(0).unwrap()) - buf).abs() < 1e-12);
    }

    #[test]
    fn adam_matches_pytorch_rule_by_hand() {
        let cfg = AdamConfig {
            lr: 0.1,
            betas: (0.5, 0.999),
            eps: 1e-8,
            weight_decay: 0.01,
        };
        let p = scalar(1.0);
        let mut adam = Adam::new(cfg, 1);
        let (mut m, mut v, mut expected) = (0.0f64, 0.0f64, 1.0f64);
        for t in 1..=3 {
            let g = 0.5 - 0.1 * t as f64;
            adam.step(&[p.shallow_clone()], &[scalar(g)]).unwrap();
            let g = g + 0.01 * expected;
            m = 0.5 * m + 0.5 * g;
            v = 0.999 * v + 0.001 * g * g;
            let bc1 = 1.0 - 0.5f64.powi(t);
            let bc2 = 1.0 - 0.999f64.powi(t);
            expected -= 0.1 / bc1 * m / (v.sqrt() / bc2.sqrt() + 1e-8);
            assert!(
                (value(&p) - expected).abs() < 1e-12,
                "step {t}: {} vs {expected}",
                value(&p)
            );
        }
        assert_eq!(adam.steps(), 3);
    }

    #[test]
    fn state_round_trip_continues_identically() {
        let run = |restore: bool| {
            let p = scalar(1.0);
            let mut sgd = Sgd::new(SgdConfig::default(), 1);
            let mut adam = Adam::new(AdamConfig::default(), 1);
            let q = scalar(-1.0);
            for _ in 0..2 {
                sgd.step(&[p.shallow_clone()], &[scalar(0.3)]).unwrap();
                adam.step(&[q.shallow_clone()], &[scalar(0.2)]).unwrap();
            }
            if restore {
                let (s, a) = (sgd.state(), adam.state());
                sgd = Sgd::new(SgdConfig::default(), 1);
                adam = Adam::new(AdamConfig::default(), 1);
                sgd.load_state(&s).unwrap();
                adam.load_state(&a).unwrap();
            }
            sgd.step(&[p.shallow_clone()], &[scalar(0.3)]).unwrap();
            adam.step(&[q.shallow_clone()], &[scalar(0.2)]).unwrap();
            (value(&p), value(&q))
        };
        assert_eq!(run(false), run(true));
        let mut sgd = Sgd::new(SgdConfig::default(), 1);
        let e = sgd
            .load_state(&[("momentum.3".into(), scalar(0.0))])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`momentum.3` does not name one of the 1 parameters"),
            "{e}"
        );
        let e = sgd
            .step(&[scalar(0.0), scalar(0.0)], &[scalar(0.0)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("built for 1 parameters, got 2 parameters and 1 gradients"),
            "{e}"
        );
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let g = [Tensor::from_slice(&[3.0f64]), Tensor::from_slice(&[4.0f64])];
        let norm = clip_grad_norm(&g, 1.0).unwrap();
        assert!((norm - 5.0).abs() < 1e-12);
        let coef = 1.0 / (5.0 + 1e-6);
        assert!((value(&g[0]) - 3.0 * coef).abs() < 1e-12);
        let small = [Tensor::from_slice(&[0.3f64])];
        clip_grad_norm(&small, 1.0).unwrap();
        assert_eq!(value(&small[0]), 0.3);
    }
}

mod files {
    use aca_core::{load_checkpoint, save_checkpoint, Cosine, MetricsLog};
    use tch::Tensor;

    #[test]
    fn checkpoint_round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.ot");
        let t = Tensor::from_slice(&[1.5f32, 2.5]);
        save_checkpoint(
            &path,
            &[("w".into(), t.shallow_clone())],
            &serde_json::json!({"epoch": 3}),
        )
        .unwrap();
        let (tensors, state): (_, serde_json::Value) = load_checkpoint(&path).unwrap();
        assert_eq!(state["epoch"], 3);
        assert_eq!(tensors.len(), 1);
        assert!(tensors[0].1.equal(&t));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
        std::fs::write(&path, b"not a checkpoint").unwrap();
        let e = load_checkpoint::<serde_json::Value>(&path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("checkpoint.ot: unreadable"), "{e}");
        let e = load_checkpoint::<serde_json::Value>(&dir.path().join("none.ot"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.ot: no such file"), "{e}");
    }

    #[test]
    fn metrics_log_drops_epochs_past_the_resume_point() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let log = MetricsLog::open(&path, 0).unwrap();
        for epoch in 0..3 {
            log.append(&serde_json::json!({"epoch": epoch})).unwrap();
        }
        let log = MetricsLog::open(&path, 2).unwrap();
        log.append(&serde_json::json!({"epoch": 2, "again": true}))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"epoch\":0}\n{\"epoch\":1}\n{\"again\":true,\"epoch\":2}\n"
        );
    }

    #[test]
    fn a_resume_refuses_a_metrics_log_that_lost_finished_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        // Deleted: a resume after 3 epochs would rewrite it with epochs 3.. only.
        let e = MetricsLog::open(&path, 3).unwrap_err().to_string();
        assert!(
            e.contains("metrics.jsonl: is missing: it holds 0 of the 3 epochs")
                && e.contains("missing epochs: 0, 1, 2"),
            "{e}"
        );
        assert!(!path.exists(), "nothing written");
        // Cut short by hand: epoch 1 gone.
        std::fs::write(&path, "{\"epoch\":0}\n{\"epoch\":2}\n").unwrap();
        let e = MetricsLog::open(&path, 3).unwrap_err().to_string();
        assert!(
            e.contains("holds 2 of the 3 epochs") && e.contains("missing epochs: 1"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"epoch\":0}\n{\"epoch\":2}\n",
            "left as it was"
        );
        // A new run (epoch 0) needs none.
        std::fs::remove_file(&path).unwrap();
        MetricsLog::open(&path, 0).unwrap();
    }

    #[test]
    fn cosine_reaches_the_minimum_at_the_last_epoch() {
        let s = Cosine {
            base: 0.1,
            min: 0.0,
            epochs: 4,
        };
        let lrs: Vec<f64> = (0..4).map(|e| s.lr(e)).collect();
        assert!((lrs[1] - 0.05).abs() < 1e-12);
        assert!(lrs[3].abs() < 1e-12);
    }
}

/// A stand-in stage for the epoch loop: one weight that each step doubles and a step counter
/// kept as the checkpoint's state.
struct Doubling {
    weight: tch::Tensor,
    steps: usize,
    restored: bool,
    /// Stop (panic, as a killed process would) after this many steps.
    stop_after: Option<usize>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct DoublingState {
    steps: usize,
}

impl aca_core::EpochTask for Doubling {
    type Record = serde_json::Value;
    type State = DoublingState;
    type Error = aca_core::CoreError;

    fn stage(&self) -> &'static str {
        "doubling"
    }
    fn steps_per_epoch(&self) -> usize {
        3
    }
    fn run_epoch(
        &mut self,
        epoch: usize,
        on_step: &mut dyn FnMut(f64),
    ) -> Result<serde_json::Value, aca_core::CoreError> {
        for _ in 0..self.steps_per_epoch() {
            self.weight = &self.weight * 2.0;
            self.steps += 1;
            on_step(self.weight.double_value(&[]));
            if self.stop_after == Some(self.steps) {
                std::panic::panic_any("interrupted");
            }
        }
        Ok(serde_json::json!({"epoch": epoch, "weight": self.weight.double_value(&[])}))
    }
    fn checkpoint(&self) -> (Vec<(String, tch::Tensor)>, DoublingState) {
        (
            vec![("weight".into(), self.weight.shallow_clone())],
            DoublingState { steps: self.steps },
        )
    }
    fn restore(
        &mut self,
        mut tensors: Vec<(String, tch::Tensor)>,
        state: DoublingState,
    ) -> Result<(), aca_core::CoreError> {
        self.weight = aca_core::take_tensor(&mut tensors, "weight", std::path::Path::new("ckpt"))?;
        self.steps = state.steps;
        self.restored = true;
        Ok(())
    }
}

#[derive(Default)]
struct Counting {
    steps: std::cell::Cell<usize>,
    epochs: std::cell::RefCell<Vec<usize>>,
}
impl aca_core::Observer<serde_json::Value> for Counting {
    fn step_done(&self) {
        self.steps.set(self.steps.get() + 1);
    }
    fn epoch_done(&self, record: &serde_json::Value) {
        self.epochs
            .borrow_mut()
            .push(record["epoch"].as_u64().unwrap() as usize);
    }
}

#[test]
fn epoch_loop_resumes_where_it_stopped_and_refuses_another_configuration() {
    use aca_core::{run_epochs, RunDir};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let fresh = || Doubling {
        weight: tch::Tensor::from(1.0f64),
        steps: 0,
        restored: false,
        stop_after: None,
    };
    let config = serde_json::json!({"epochs": 4});
    let tb = aca_core::tensorboard::TensorBoard {
        enabled: true,
        step_every: 1,
    };

    // Two epochs, then the process "stops".
    let run = RunDir::open(&dir, false, "doubling").unwrap();
    let mut task = fresh();
    let observer = Counting::default();
    assert_eq!(
        run_epochs(&run, &config, 2, &mut task, &observer, tb).unwrap(),
        0
    );
    assert_eq!(observer.steps.get(), 6);
    assert_eq!(*observer.epochs.borrow(), [0, 1]);
    drop(run);

    // A new run cannot reuse the folder; a resume with another configuration is refused.
    // (the command line adds the flag that answers it: `--resume`)
    let err = RunDir::open(&dir, false, "doubling").unwrap_err();
    assert!(
        matches!(&err, aca_core::CoreError::RunExists { stage, .. } if stage == "doubling"),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("it already holds a doubling"),
        "{err}"
    );
    let run = RunDir::open(&dir, true, "doubling").unwrap();
    let other = serde_json::json!({"epochs": 5});
    let err = run_epochs(&run, &other, 4, &mut fresh(), &aca_core::Silent, tb)
        .unwrap_err()
        .to_string();
    assert!(err.contains("epochs"), "{err}");

    // The resume continues from epoch 2 with the saved weight and state.
    let mut task = fresh();
    let observer = Counting::default();
    assert_eq!(
        run_epochs(&run, &config, 4, &mut task, &observer, tb).unwrap(),
        2
    );
    assert!(task.restored);
    assert_eq!(task.steps, 12);
    assert_eq!(task.weight.double_value(&[]), 4096.0);
    assert_eq!(*observer.epochs.borrow(), [2, 3]);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let weights: Vec<f64> = lines
        .iter()
        .map(|l| l["weight"].as_f64().unwrap())
        .collect();
    assert_eq!(weights, [8.0, 64.0, 512.0, 4096.0]);
}

#[test]
fn a_checkpoint_written_before_a_config_field_existed_resumes_with_its_default() {
    use aca_core::{NoState, RunDir};
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Config {
        epochs: usize,
        #[serde(default)]
        added_later: f64,
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let run = RunDir::open(&dir, false, "test").unwrap();
    // Written by a version without `added_later`.
    let old = serde_json::json!({"epochs": 4});
    run.save_checkpoint(
        &[("w".into(), tch::Tensor::from(1.0f64))],
        2,
        &NoState {},
        &old,
    )
    .unwrap();
    drop(run);
    let run = RunDir::open(&dir, true, "test").unwrap();
    let same = Config {
        epochs: 4,
        added_later: 0.0,
    };
    let resumed = run.load_checkpoint::<NoState, _>(&same).unwrap().unwrap();
    assert_eq!(resumed.epochs_done, 2);
    let changed = Config {
        epochs: 4,
        added_later: 0.5,
    };
    let err = run
        .load_checkpoint::<NoState, _>(&changed)
        .unwrap_err()
        .to_string();
    assert!(err.contains("added_later"), "{err}");
}

#[test]
fn a_new_run_through_a_link_to_a_missing_folder_creates_that_folder() {
    // A sweep's run links its shared search; a fresh clone holds the link but not the empty
    // folder it points to.
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("runs/a");
    std::fs::create_dir_all(&run).unwrap();
    let link = run.join("search");
    std::os::unix::fs::symlink("../../searches/shared", &link).unwrap();
    let opened = aca_core::RunDir::open(&link, false, "search").unwrap();
    assert!(tmp.path().join("searches/shared").is_dir());
    assert!(opened.path("config.json").starts_with(&link));
    drop(opened);
    // A folder in place of the link, and an existing one, open as before.
    let plain = tmp.path().join("plain");
    drop(aca_core::RunDir::open(&plain, false, "search").unwrap());
    drop(aca_core::RunDir::open(&plain, false, "search").unwrap());
}

#[test]
fn tensorboard_shows_each_step_once_after_a_resume_mid_epoch() {
    use aca_core::tensorboard::{scalars, TensorBoard};
    use aca_core::{run_epochs, RunDir};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let config = serde_json::json!({"epochs": 3});
    let tb = TensorBoard {
        enabled: true,
        step_every: 1,
    };
    let task = |stop_after| Doubling {
        weight: tch::Tensor::from(1.0f64),
        steps: 0,
        restored: false,
        stop_after,
    };
    // Stopped after step 2 of epoch 1: its steps are in the event file, its epoch is not done.
    let run = RunDir::open(&dir, false, "doubling").unwrap();
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_epochs(&run, &config, 3, &mut task(Some(5)), &aca_core::Silent, tb)
    }));
    assert!(stopped.is_err());
    drop(run);
    let before = scalars(&dir.join("tb")).unwrap();
    assert!(before
        .iter()
        .any(|(t, s, _)| t == "doubling/steps/train_loss" && *s == 5));
    let run = RunDir::open(&dir, true, "doubling").unwrap();
    run_epochs(&run, &config, 3, &mut task(None), &aca_core::Silent, tb).unwrap();
    let events = scalars(&dir.join("tb")).unwrap();
    let steps = |tag: &str| -> Vec<(i64, f32)> {
        events
            .iter()
            .filter(|(t, _, _)| t == tag)
            .map(|(_, s, v)| (*s, *v))
            .collect()
    };
    // Steps 1-9 once each, with the resumed run's values; epochs 0-2 once each.
    let losses = steps("doubling/steps/train_loss");
    assert_eq!(
        losses,
        (1..=9)
            .map(|k| (k, 2f32.powi(k as i32)))
            .collect::<Vec<_>>()
    );
    let weights = steps("doubling/weight");
    assert_eq!(weights, [(0, 8.0), (1, 64.0), (2, 512.0)]);
    // One event file, no leftovers of the rewrite.
    let files: Vec<_> = std::fs::read_dir(dir.join("tb")).unwrap().collect();
    assert_eq!(files.len(), 1);
}
