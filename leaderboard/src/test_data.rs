//! Where each task's test cells come from, as the board states it: public data (anyone can
//! recompute the held-out cells), a hidden simulator world (drawn from an organiser secret the
//! server keeps), or a private dataset of the organisers. The server configures it per task
//! ([`crate::Config::test_data`]); this crate only states it on the task page and its JSON twin
//! and serves the training download of hidden and private tasks. No secret, seed or server path
//! is held here.

use std::path::PathBuf;

use serde::Serialize;

/// How a task's test data are held on this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestData {
    /// The task's registered dataset: published data, or the simulator at the spec's public seed.
    Public,
    /// A simulator world drawn from the organiser secret; `training` is the training download.
    HiddenWorld { training: PathBuf },
    /// A private dataset file of the organisers; `training` is the training download.
    PrivateDataset { training: PathBuf },
}

impl TestData {
    /// The training download's file, for hidden and private tasks.
    pub fn training_file(&self) -> Option<&PathBuf> {
        match self {
            TestData::Public => None,
            TestData::HiddenWorld { training } | TestData::PrivateDataset { training } => Some(training),
        }
    }
}

/// The statement shown on a task page and in its JSON twin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestDataNote {
    /// `public`, `hidden-world` or `private-dataset`.
    pub kind: String,
    /// Whether anyone can obtain this task's test cells.
    pub test_data_public: bool,
    /// What a participant should know, in one paragraph.
    pub text: String,
    /// The training download (hidden and private tasks): training conditions and training
    /// controls only.
    pub training_url: Option<String>,
}

/// The note for `task` (whose spec reads `dataset`) with test data `data`.
pub fn note(task: &str, dataset: &str, data: &TestData) -> TestDataNote {
    let url = format!("/tasks/{task}/training.h5ad");
    match data {
        TestData::Public if dataset.starts_with("simulator") => TestDataNote {
            kind: "public".into(),
            test_data_public: true,
            text: format!(
                "The test data of this task are public: it is simulated from the public seed of its spec (dataset \
                 '{dataset}'), so anyone can regenerate the held-out cells with the arena binary (`arena eval --task \
                 {task}` writes the split). Scores compare models on public data; they do not show that a model never \
                 saw the test cells."
            ),
            training_url: None,
        },
        TestData::Public => TestDataNote {
            kind: "public".into(),
            test_data_public: true,
            text: format!(
                "The test data of this task are public: its held-out cells come from the published dataset \
                 '{dataset}', which anyone can download (`arena eval --task {task}` writes the split). Scores compare \
                 models on public data; they do not show that a model never saw the test cells."
            ),
            training_url: None,
        },
        TestData::HiddenWorld { .. } => TestDataNote {
            kind: "hidden-world".into(),
            test_data_public: false,
            text: format!(
                "The test data of this task are hidden: this server simulates the task's world (network, cells and \
                 split) from a secret the organisers keep, so `arena simulate` and `arena eval` do not regenerate \
                 it. Train on the training download ({url}: the training conditions and the training control cells \
                 of this world, with the labels of the test conditions to predict), then upload predictions for \
                 those conditions or an ONNX model; both are scored here on the hidden test cells."
            ),
            training_url: Some(url),
        },
        TestData::PrivateDataset { .. } => TestDataNote {
            kind: "private-dataset".into(),
            test_data_public: false,
            text: format!(
                "The test data of this task are private: the organisers scored it on a dataset file held on this \
                 server, whose test cells are never served. Train on the training download ({url}: the training \
                 conditions and training control cells, with the labels of the test conditions to predict)."
            ),
            training_url: Some(url),
        },
    }
}
