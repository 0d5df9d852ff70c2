//! A blob travels from one store to another over HTTP, and a lying server is refused.

use axum::{Router, routing::get};
use std::sync::Arc;
use verity_hub::{BlobStore, FetchError, fetch, fetch_into, router};
use verity_ledger::crypto::sha256;

fn serve(app: Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            })
    });
    format!("http://{addr}")
}

#[test]
fn a_blob_is_fetched_from_the_first_honest_source() {
    let origin_dir = tempfile::tempdir().unwrap();
    let origin = Arc::new(BlobStore::open(origin_dir.path()).unwrap());
    let id = origin.put(b"an onnx model").unwrap();
    let honest = serve(router(origin));
    let liar = serve(Router::new().route(
        "/v1/blobs/{id}",
        get(|| async { b"something else".to_vec() }),
    ));
    let down = "http://127.0.0.1:9".to_string();

    let local_dir = tempfile::tempdir().unwrap();
    let local = BlobStore::open(local_dir.path()).unwrap();
    let bytes = fetch_into(&local, &id, &[down, liar.clone(), honest.clone()], 1 << 20).unwrap();
    assert_eq!(bytes, b"an onnx model");
    assert_eq!(local.get(&id).unwrap().unwrap(), b"an onnx model");

    // The liar alone: refused, with the reason.
    let err = fetch(&id, &[liar], 1 << 20).unwrap_err();
    assert!(err.to_string().contains("not the model's id"), "{err}");
    // Too large for the limit.
    let err = fetch(&id, std::slice::from_ref(&honest), 4).unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
    // Unknown blob: the server says so.
    let err = fetch(&sha256(&[b"missing"]), &[honest], 1 << 20).unwrap_err();
    assert!(matches!(err, FetchError::AllFailed { .. }), "{err}");
    assert!(matches!(
        fetch(&id, &[], 1).unwrap_err(),
        FetchError::NoSources { .. }
    ));
}
