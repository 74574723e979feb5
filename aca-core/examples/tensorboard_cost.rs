//! What TensorBoard output costs: one per-step loss, and one search epoch's output (a search
//! record's scalars, two op-weight heat maps, 28 largest-weight scalars, a histogram, the genotype
//! text and the flush to disk), timed over many repetitions in a temporary folder.
//!
//! `cargo run --release -p aca-core --example tensorboard_cost`

use std::time::Instant;

use aca_core::tensorboard::EventWriter;

fn main() -> aca_core::Result<()> {
    let dir = std::env::temp_dir().join(format!("aca-tb-cost-{}", std::process::id()));
    let mut tb = EventWriter::open(&dir, |_, _| false)?;
    let steps = 100_000;
    let t = Instant::now();
    for step in 0..steps {
        tb.scalar("search/steps/train_loss", step, 1.0 / (1.0 + step as f64))?;
    }
    tb.flush()?;
    let per_step = t.elapsed().as_secs_f64() / steps as f64;

    let record = serde_json::json!({
        "lr": 0.025, "arch_updates": true, "train_loss": 1.2, "train_acc": 0.6, "arch_loss": 1.3,
        "valid_loss": 1.25, "valid_acc": 0.58, "skip_normal": 2, "skip_reduce": 1,
        "param_free_normal": 3, "param_free_reduce": 4,
        "learning": {"shift": 12.0, "entropy_normal": 0.9, "entropy_reduce": 0.95},
        "seconds": 30.0
    });
    let rows: Vec<Vec<f32>> = (0..14)
        .map(|e| (0..8).map(|o| ((e * 8 + o) % 7) as f32 / 7.0).collect())
        .collect();
    let epochs = 500;
    let t = Instant::now();
    for epoch in 0..epochs {
        tb.scalars_of("search", epoch, &record)?;
        tb.op_weights("search", epoch, &[("normal", &rows), ("reduce", &rows)])?;
        tb.text(
            "search/genotype",
            epoch,
            "Genotype(normal=[('sep_conv_3x3', 0), ...])",
        )?;
        tb.flush()?;
    }
    let per_epoch = t.elapsed().as_secs_f64() / epochs as f64;
    let bytes = std::fs::read_dir(&dir)
        .map_err(|source| aca_core::CoreError::Io {
            path: dir.clone(),
            source,
        })?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum::<u64>();
    println!(
        "per-step loss: {:.2} us; per search epoch (scalars, 2 heat maps, 28 maxima, histogram, text, flush): {:.3} ms; {:.1} KB per epoch on disk",
        per_step * 1e6,
        per_epoch * 1e3,
        (bytes as f64 - steps as f64 * 40.0) / epochs as f64 / 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
