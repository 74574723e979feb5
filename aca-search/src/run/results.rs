//! What a search leaves at its end (and at each snapshot): alphas, genotype, the supernet, and
//! the cell diagrams; and the warning when the architecture did not learn.

use std::path::Path;

use aca_core::tensorboard::{EventWriter, TB_DIR};
use aca_core::{save_checkpoint, write_atomic, write_json_atomic};
use aca_space::nn::SearchNetwork;
use aca_space::{ArchLearning, ArchParams, CellType, Genotype, OpSet};
use tracing::info;

use super::records::files;
use crate::config::SearchConfig;
use crate::error::Result;

/// The plain-words warning for a search whose architecture did not move beyond its initial noise.
pub fn not_learned_message(l: &ArchLearning) -> String {
    format!(
        "the architecture has not learned: its alphas moved {:.1}x their initial noise and the \
         normal cell's op weights keep {:.1}% of the uniform entropy, so no op stands out and the \
         derived genotype rests on small differences more than on what the data showed. Give the \
         search more architecture steps (more epochs, a smaller batch or more search images) or \
         a larger architecture learning rate.",
        l.shift,
        100.0 * l.relative_entropy_normal()
    )
}

/// Writes what a finished search leaves (config, genotypes, alphas, supernet) into `dir`: the run
/// directory at the end (`snapshot` false), a snapshot folder during the search. A snapshot folder
/// appears whole: it is written under a temporary name and renamed.
pub(super) fn write_search_results(
    dir: &Path,
    snapshot: bool,
    config: &SearchConfig,
    ops: &OpSet,
    net: &SearchNetwork,
    genotype: &Genotype,
    arch: &ArchParams,
) -> Result<()> {
    let target = if snapshot {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        dir.with_file_name(format!(".{name}.partial"))
    } else {
        dir.to_path_buf()
    };
    let io = |path: &Path, source| aca_core::CoreError::Io {
        path: path.into(),
        source,
    };
    if snapshot {
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(|e| io(&target, e))?;
        }
        std::fs::create_dir_all(&target).map_err(|e| io(&target, e))?;
        write_json_atomic(&target.join(files::CONFIG), config)?;
    }
    write_atomic(
        &target.join(files::GENOTYPE_JSON),
        (genotype.to_json() + "\n").as_bytes(),
    )?;
    write_atomic(
        &target.join(files::GENOTYPE_TXT),
        (genotype.to_darts() + "\n").as_bytes(),
    )?;
    write_json_atomic(&target.join(files::ALPHAS), arch)?;
    save_checkpoint(
        &target.join(files::SUPERNET),
        &net.named_tensors(),
        &serde_json::json!({ "space": ops.name(), "network": net.config() }),
    )?;
    if snapshot {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        std::fs::rename(&target, dir).map_err(|e| io(dir, e))?;
    }
    Ok(())
}

/// The searched cells as images (`search/cell/normal`, `search/cell/reduce`) in the search's
/// TensorBoard folder, drawn by Graphviz's `dot` as the report draws them; left out, with a note
/// in the log, where `dot` is not installed.
pub(super) fn cell_images(dir: &Path, genotype: &Genotype, step: i64) -> Result<()> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut tb = EventWriter::open(&dir.join(TB_DIR), |tag, _| !tag.starts_with("search/cell/"))?;
    for cell in CellType::BOTH {
        let drawn = Command::new("dot")
            .arg("-Tpng")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .and_then(|mut child| {
                if let Some(mut stdin) = child.stdin.take() {
                    stdin.write_all(genotype.to_dot(cell, None).as_bytes())?;
                }
                child.wait_with_output()
            });
        let png = match drawn {
            Ok(out) if out.status.success() && out.stdout.len() > 26 => out.stdout,
            _ => {
                info!("Graphviz's `dot` did not draw the cells: TensorBoard gets no cell images");
                return Ok(());
            }
        };
        // The PNG header: width and height (big-endian) at 16 and 20, colour type at 25.
        let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
        let channels = match png[25] {
            0 => 1,
            2 => 3,
            4 => 2,
            _ => 4,
        };
        tb.png(
            &format!("search/cell/{cell}"),
            step,
            png.clone(),
            (be(16), be(20), channels),
        )?;
    }
    Ok(tb.flush()?)
}
