//! The flags that answer an error. Library errors name configuration fields (`data_dir`); the
//! command line adds the flag or command that sets them (`--data-dir DIR`, `--resume`).

use std::error::Error;

use aca_core::CoreError;
use aca_data::{DataError, DatasetKind};
use aca_eval::EvalError;
use aca_search::SearchError;

/// `e` with the flags that answer it appended, when one of its causes is an error the command
/// line can answer.
pub(crate) fn with_flags(e: anyhow::Error) -> anyhow::Error {
    match e.chain().find_map(|cause| hint(known(cause)?)) {
        Some(hint) => anyhow::anyhow!("{}{hint}", crate::error_text(&e)),
        None => e,
    }
}

/// The library errors with a hint, through the crates' transparent wrappers.
enum Known<'a> {
    Core(&'a CoreError),
    Data(&'a DataError),
    Eval(&'a EvalError),
}

fn known<'a>(cause: &'a (dyn Error + 'static)) -> Option<Known<'a>> {
    fn of_search(e: &SearchError) -> Option<Known<'_>> {
        match e {
            SearchError::Core(c) => Some(Known::Core(c)),
            SearchError::Data(d) => Some(Known::Data(d)),
            _ => None,
        }
    }
    if let Some(e) = cause.downcast_ref::<EvalError>() {
        return match e {
            EvalError::Core(c) => Some(Known::Core(c)),
            EvalError::Data(d) => Some(Known::Data(d)),
            EvalError::Search(s) => of_search(s),
            e => Some(Known::Eval(e)),
        };
    }
    if let Some(e) = cause.downcast_ref::<SearchError>() {
        return of_search(e);
    }
    if let Some(e) = cause.downcast_ref::<DataError>() {
        return Some(Known::Data(e));
    }
    cause.downcast_ref::<CoreError>().map(Known::Core)
}

fn hint(e: Known<'_>) -> Option<String> {
    Some(match e {
        Known::Data(DataError::NotFound { dataset, .. }) => match dataset {
            DatasetKind::FashionMnist | DatasetKind::Mnist => " (--data-dir DIR)".into(),
            DatasetKind::Cifar10 | DatasetKind::Cifar100 => format!(
                " (--data-dir DIR), or download it with `aca data fetch {dataset} --dir DIR`"
            ),
            DatasetKind::Svhn => {
                " (--data-dir DIR), or download them with `aca data fetch svhn --dir DIR`".into()
            }
            DatasetKind::Folder => return None,
        },
        Known::Core(CoreError::RunExists { .. }) => {
            "; pass --resume to continue it, or choose another output folder".into()
        }
        Known::Eval(EvalError::RunExists { .. }) => {
            "; pass --resume to continue it, or choose another --out".into()
        }
        Known::Eval(EvalError::TrainingUnfinished { .. }) => {
            " (resume it with `aca train --resume`)".into()
        }
        _ => return None,
    })
}
