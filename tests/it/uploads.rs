//! Uploads (issue 18): UploadFile, UploadImage, DeleteFile, DeleteImage as the
//! clients send them (multipart forms), the public URLs the server serves for
//! files kept on disk, who may delete what, the size and type limits, and
//! files and their owners surviving a restart. Each test runs the built
//! binary, on SQLite or (`TRIBUTARY_TEST_STORE=postgres`) PostgreSQL.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::durability::{free_port, start_with, wait_healthy, Server};
use crate::support::{server_token, user_token, Client, TestDatabase, API_KEY};

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

struct Part<'a> {
    name: &'a str,
    file_name: Option<&'a str>,
    content_type: Option<&'a str>,
    bytes: &'a [u8],
}

fn file<'a>(file_name: &'a str, content_type: &'a str, bytes: &'a [u8]) -> Part<'a> {
    Part { name: "file", file_name: Some(file_name), content_type: Some(content_type), bytes }
}

fn text<'a>(name: &'a str, value: &'a str) -> Part<'a> {
    Part { name, file_name: None, content_type: None, bytes: value.as_bytes() }
}

/// A multipart/form-data body as the SDKs build one.
fn form(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = "----tributary-test-boundary-7d1f";
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"", part.name).as_bytes(),
        );
        if let Some(name) = part.file_name {
            body.extend_from_slice(format!("; filename=\"{name}\"").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        if let Some(t) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_form(base: &str, token: &str, kind: &str, parts: &[Part<'_>]) -> (StatusCode, Value) {
    let (content_type, body) = form(parts);
    send_body(base, token, kind, &content_type, body).await
}

async fn send_body(base: &str, token: &str, kind: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v2/uploads/{kind}?api_key={API_KEY}"))
        .header("stream-auth-type", "jwt")
        .header("Authorization", token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload request");
    let status = resp.status();
    let value: Value = resp.json().await.expect("JSON reply");
    if status.is_success() {
        assert!(value["duration"].is_string(), "{value}");
    }
    (status, value)
}

fn delete_path(kind: &str, url: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    format!("/api/v2/uploads/{kind}?url={encoded}")
}

struct Fetched {
    status: StatusCode,
    content_type: String,
    disposition: String,
    nosniff: bool,
    bytes: Vec<u8>,
}

/// A public file URL, read as a browser would: no credentials.
async fn fetch(url: &str) -> Fetched {
    let resp = reqwest::get(url).await.expect("GET file");
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let nosniff = header("x-content-type-options") == "nosniff";
    Fetched { status: resp.status(), content_type, disposition, nosniff, bytes: resp.bytes().await.unwrap().to_vec() }
}

async fn running(dir: &Path, db: &TestDatabase, env: &[(&str, &str)]) -> (Server, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server(start_with(port, dir, db.url.as_deref(), env));
    wait_healthy(&mut server, &base).await;
    (server, base)
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_served_deleted_only_by_their_uploader_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let (server, base) = running(dir.path(), &db, &[]).await;
    let api = Client::new(&base).with_token(server_token());
    api.create_users(&["alice", "bob"]).await;
    let (alice, bob) = (user_token("alice"), user_token("bob"));

    // An image, sent with a vague declared type: served as what its bytes are.
    let (status, image) =
        post_form(&base, &alice, "image", &[file("My Photo.png", "application/octet-stream", PNG)]).await;
    assert_eq!(status, StatusCode::CREATED, "{image}");
    let image_url = image["file"].as_str().expect("file").to_string();
    assert!(image_url.starts_with(&format!("{base}/uploads/")) && image_url.ends_with("/My_Photo.png"), "{image}");
    assert_eq!(image["thumb_url"], image["file"], "{image}");
    let got = fetch(&image_url).await;
    assert_eq!((got.status, got.content_type.as_str(), got.bytes.as_slice()), (StatusCode::OK, "image/png", PNG));
    assert!(got.nosniff && got.disposition == "inline", "{}", got.disposition);

    // A file of any type downloads rather than opens: an HTML page never runs on this origin.
    let page = b"<script>alert(1)</script>";
    let (status, html) = post_form(&base, &alice, "file", &[file("page.html", "text/html", page)]).await;
    assert_eq!(status, StatusCode::CREATED, "{html}");
    assert!(html.get("thumb_url").is_none(), "{html}");
    let html_url = html["file"].as_str().expect("file").to_string();
    let got = fetch(&html_url).await;
    assert_eq!((got.status, got.content_type.as_str(), got.bytes.as_slice()), (StatusCode::OK, "text/html", &page[..]));
    assert_eq!(got.disposition, "attachment");
    // Keys are random: the same name twice gives two URLs.
    let (_, again) = post_form(&base, &alice, "file", &[file("page.html", "text/html", page)]).await;
    assert_ne!(again["file"], html["file"]);

    // An activity that links the image; deleting it leaves the file alone.
    let activity = api
        .add_activity("alice", &["user:alice"], json!({ "attachments": [{ "type": "image", "image_url": image_url }] }))
        .await;
    let id = activity["id"].as_str().expect("id");
    let (status, body) = api.delete(&format!("/api/v2/feeds/activities/{id}?hard_delete=true")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(fetch(&image_url).await.status, StatusCode::OK, "deleting an activity keeps its files");

    // Only the uploader (or a server-side call) deletes, and each kind through its own route.
    let (status, body) = Client::new(&base).with_token(&bob).delete(&delete_path("image", &image_url)).await;
    assert_eq!((status, body["code"].as_i64()), (StatusCode::FORBIDDEN, Some(17)), "{body}");
    let (status, body) = Client::new(&base).with_token(&alice).delete(&delete_path("file", &image_url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an image is not deleted as a file: {body}");
    let (status, body) = Client::new(&base).with_token(&alice).delete("/api/v2/uploads/file").await;
    assert_eq!((status, body["exception_fields"]["url"].is_string()), (StatusCode::BAD_REQUEST, true), "{body}");

    // Server-side uploads name their owner in the `user` part; a user token may name only itself.
    let (status, for_bob) = post_form(
        &base,
        &server_token(),
        "file",
        &[text("user", r#"{"id":"bob"}"#), file("b.txt", "text/plain", b"b")],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{for_bob}");
    let (status, body) =
        post_form(&base, &bob, "file", &[text("user", r#"{"id":"alice"}"#), file("x.txt", "text/plain", b"x")]).await;
    assert_eq!((status, body["code"].as_i64()), (StatusCode::FORBIDDEN, Some(17)), "{body}");

    // After a restart the files are still served and still belong to whom they did.
    drop(server);
    let (_server, base2) = running(dir.path(), &db, &[]).await;
    let moved = |url: &str| url.replacen(&base, &base2, 1);
    let (image_url, html_url) = (moved(&image_url), moved(&html_url));
    let got = fetch(&image_url).await;
    assert_eq!((got.status, got.bytes.as_slice()), (StatusCode::OK, PNG), "the image survives a restart");
    let (status, body) = Client::new(&base2).with_token(&bob).delete(&delete_path("image", &image_url)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "ownership survives a restart: {body}");
    let (status, body) = Client::new(&base2).with_token(&alice).delete(&delete_path("image", &image_url)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["duration"].is_string(), "{body}");
    assert_eq!(fetch(&image_url).await.status, StatusCode::NOT_FOUND);
    let (status, _) = Client::new(&base2).with_token(&alice).delete(&delete_path("image", &image_url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a deleted file is gone");
    let (status, body) = Client::new(&base2).with_token(server_token()).delete(&delete_path("file", &html_url)).await;
    assert_eq!(status, StatusCode::OK, "server-side calls delete any file: {body}");
    assert_eq!(fetch(&html_url).await.status, StatusCode::NOT_FOUND);
    let bobs = moved(for_bob["file"].as_str().expect("file"));
    let (status, body) = Client::new(&base2).with_token(&bob).delete(&delete_path("file", &bobs)).await;
    assert_eq!(status, StatusCode::OK, "bob owns what the server uploaded for him: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_are_bounded_in_size_and_images_are_checked_by_their_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let (server, base) = running(dir.path(), &db, &[("TRIBUTARY_UPLOAD_MAX_BYTES", "1000")]).await;
    let api = Client::new(&base).with_token(server_token());
    api.create_users(&["carol"]).await;
    let carol = user_token("carol");

    let (status, body) =
        post_form(&base, &carol, "file", &[file("a.bin", "application/octet-stream", &[7; 1000])]).await;
    assert_eq!(status, StatusCode::CREATED, "exactly the limit is accepted: {body}");
    let (status, body) =
        post_form(&base, &carol, "file", &[file("a.bin", "application/octet-stream", &[7; 1001])]).await;
    assert_eq!((status, body["code"].as_i64()), (StatusCode::PAYLOAD_TOO_LARGE, Some(22)), "{body}");
    assert!(body["message"].as_str().unwrap_or("").contains("1000"), "{body}");
    let (status, body) =
        post_form(&base, &carol, "image", &[file("big.png", "image/png", &[PNG, &[0; 200_000]].concat())]).await;
    assert_eq!((status, body["code"].as_i64()), (StatusCode::PAYLOAD_TOO_LARGE, Some(22)), "{body}");

    // upload_image takes images only, whatever the declared type says.
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    for (name, declared, bytes) in [
        ("x.png", "image/png", &b"not an image at all"[..]),
        ("x.svg", "image/svg+xml", svg),
        ("x.pdf", "application/pdf", b"%PDF-1.7"),
    ] {
        let (status, body) = post_form(&base, &carol, "image", &[file(name, declared, bytes)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert!(body["exception_fields"]["file"].is_string(), "{name}: {body}");
    }
    // Resizing is not done, and refused rather than ignored; an empty list asks for nothing.
    let sizes = r#"[{"width":100,"height":100,"resize":"scale"}]"#;
    let (status, body) =
        post_form(&base, &carol, "image", &[file("p.png", "image/png", PNG), text("upload_sizes", sizes)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["exception_fields"]["upload_sizes"].is_string(), "{body}");
    let (status, body) =
        post_form(&base, &carol, "image", &[file("p.png", "image/png", PNG), text("upload_sizes", "[]")]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Not a form, or a form without a file: a 400 naming `file`.
    let (status, body) = send_body(&base, &carol, "file", "application/json", br#"{"file":"x"}"#.to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["exception_fields"]["file"].is_string(), "{body}");
    let (status, body) = post_form(&base, &carol, "file", &[text("other", "x")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["exception_fields"]["file"].is_string(), "{body}");
    let (status, body) = post_form(&base, &carol, "file", &[file("empty.txt", "text/plain", b"")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Anonymous callers upload nothing.
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v2/uploads/image?api_key={API_KEY}"))
        .header("stream-auth-type", "anonymous")
        .header("Content-Type", form(&[file("p.png", "image/png", PNG)]).0)
        .body(form(&[file("p.png", "image/png", PNG)]).1)
        .send()
        .await
        .expect("anonymous upload");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    drop(server);

    // The default limit is 10 MiB: well above the 1 MiB of JSON bodies, and enforced.
    // This server keeps its files in a folder of its own (`file://`), not in the data dir.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let folder = format!("file://{}", elsewhere.path().display());
    let (_server, base) = running(dir.path(), &db, &[("TRIBUTARY_UPLOADS_URL", folder.as_str())]).await;
    let two_mib = vec![1u8; 2 * 1024 * 1024];
    let (status, body) =
        post_form(&base, &carol, "file", &[file("two.bin", "application/octet-stream", &two_mib)]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let url = body["file"].as_str().expect("file");
    let (token, name) = url.rsplit_once('/').map(|(rest, name)| (rest.rsplit('/').next().unwrap(), name)).unwrap();
    let on_disk = std::fs::read(elsewhere.path().join(token).join(name)).expect("the file is in the configured folder");
    assert_eq!(on_disk, two_mib);
    assert!(!dir.path().join("uploads").join(token).exists(), "nothing in the data dir");
    assert_eq!(fetch(url).await.bytes, two_mib);
    let over = vec![1u8; 10 * 1024 * 1024 + 1];
    let (status, body) = post_form(&base, &carol, "file", &[file("over.bin", "application/octet-stream", &over)]).await;
    assert_eq!((status, body["code"].as_i64()), (StatusCode::PAYLOAD_TOO_LARGE, Some(22)), "{body}");
}
