//! Uploads (issue 18): UploadFile, UploadImage, DeleteFile, DeleteImage as the
//! clients send them (multipart forms), the public URLs the server serves for
//! files kept on disk, who may delete what, the size and type limits, and
//! files and their owners surviving a restart. Each test runs the built
//! binary, on SQLite or (`TRIBUTARY_TEST_STORE=postgres`) PostgreSQL.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::durability::{free_port, start_with, wait_healthy, Server};
use crate::support::{count_in_database, server_token, user_token, Client, TestDatabase, API_KEY};

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
    // An empty list of sizes asks for nothing.
    let (status, body) =
        post_form(&base, &carol, "image", &[file("p.png", "image/png", PNG), text("upload_sizes", "[]")]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("upload_sizes").is_none() && body["thumb_url"] == body["file"], "{body}");

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

/// A `w`×`h` image, red on its left half and blue on its right, encoded as `format`.
fn picture(w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(
        w,
        h,
        |x, _| if x < w / 2 { image::Rgb([255, 0, 0]) } else { image::Rgb([0, 0, 255]) },
    );
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A served image, decoded.
async fn fetch_image(url: &str) -> (String, image::RgbaImage) {
    let got = fetch(url).await;
    assert_eq!(got.status, StatusCode::OK, "{url}: {}", String::from_utf8_lossy(&got.bytes));
    assert!(got.nosniff && got.disposition == "inline", "{url}");
    let decoded = image::load_from_memory(&got.bytes).unwrap_or_else(|e| panic!("{url}: {e}"));
    (got.content_type, decoded.to_rgba8())
}

/// A PNG whose header claims 60000×60000 pixels: a decompression bomb.
fn bomb() -> Vec<u8> {
    let mut bytes = picture(1, 1, image::ImageFormat::Png);
    bytes[16..20].copy_from_slice(&60000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&60000u32.to_be_bytes());
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn images_are_resized_at_upload_and_on_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let (_server, base) = running(dir.path(), &db, &[]).await;
    let api = Client::new(&base).with_token(server_token());
    api.create_users(&["dana"]).await;
    let dana = user_token("dana");
    let png = picture(200, 100, image::ImageFormat::Png);

    // Each size is made at upload, stored beside the original, and echoed with its defaults.
    let sizes = r#"[{"width":50,"height":50,"resize":"crop","crop":"left"},{"width":100,"height":100},
        {"width":40,"height":30,"resize":"scale"},{"width":60,"height":60,"resize":"fill","crop":"top"}]"#;
    let (status, body) =
        post_form(&base, &dana, "image", &[file("wide.png", "image/png", &png), text("upload_sizes", sizes)]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let url = body["file"].as_str().expect("file").to_string();
    assert_eq!(
        body["upload_sizes"],
        json!([
            {"width": 50, "height": 50, "resize": "crop", "crop": "left"},
            {"width": 100, "height": 100, "resize": "clip", "crop": "center"},
            {"width": 40, "height": 30, "resize": "scale", "crop": "center"},
            {"width": 60, "height": 60, "resize": "fill", "crop": "top"},
        ]),
        "{body}"
    );
    // The thumbnail is the smallest size.
    let thumb = body["thumb_url"].as_str().expect("thumb_url");
    assert_eq!(thumb, format!("{url}?w=40&h=30&resize=scale&crop=center"));
    let (content_type, img) = fetch_image(thumb).await;
    assert_eq!((content_type.as_str(), img.dimensions()), ("image/png", (40, 30)));
    let token = url.rsplit('/').nth(1).expect("token");
    let folder = dir.path().join("uploads").join(token);
    assert_eq!(std::fs::read_dir(&folder).expect("the upload's folder").count(), 5, "the original and 4 variants");

    // Each mode, from the stored variants and made on request.
    let (_, img) = fetch_image(&format!("{url}?w=50&h=50&resize=crop&crop=left")).await;
    assert_eq!(img.dimensions(), (50, 50));
    assert!(img.get_pixel(45, 25)[0] > 200 && img.get_pixel(45, 25)[2] < 50, "the left of the image is kept");
    let (_, img) = fetch_image(&format!("{url}?w=30&h=30&resize=crop&crop=right")).await;
    assert_eq!(img.dimensions(), (30, 30));
    assert!(img.get_pixel(2, 15)[2] > 200 && img.get_pixel(2, 15)[0] < 50, "the right of the image is kept");
    let (_, img) = fetch_image(&format!("{url}?w=100&h=100")).await;
    assert_eq!(img.dimensions(), (100, 50), "clip fits inside the box");
    let (_, img) = fetch_image(&format!("{url}?w=100")).await;
    assert_eq!(img.dimensions(), (100, 50), "a missing height follows the aspect ratio");
    let (_, img) = fetch_image(&format!("{url}?w=60&h=60&resize=fill&crop=top")).await;
    assert_eq!(img.dimensions(), (60, 60));
    assert_eq!((img.get_pixel(5, 5)[3], img.get_pixel(5, 55)[3]), (255, 0), "fill pads, the image at the top");
    let (_, img) = fetch_image(&format!("{url}?w=333&h=77&resize=scale")).await;
    assert_eq!(img.dimensions(), (333, 77));
    assert_eq!(std::fs::read_dir(&folder).expect("folder").count(), 5, "sizes made on request are not kept");
    // Without parameters the original is served as sent.
    assert_eq!(fetch(&url).await.bytes, png);

    // A JPEG stays a JPEG.
    let jpeg = picture(90, 120, image::ImageFormat::Jpeg);
    let sizes = r#"[{"width":30,"height":30,"resize":"fill"}]"#;
    let (status, body) =
        post_form(&base, &dana, "image", &[file("tall.jpg", "image/jpeg", &jpeg), text("upload_sizes", sizes)]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (content_type, img) = fetch_image(body["thumb_url"].as_str().expect("thumb_url")).await;
    assert_eq!((content_type.as_str(), img.dimensions()), ("image/jpeg", (30, 30)));

    // Bad sizes are 400s naming the field.
    let eleven = format!("[{}]", [r#"{"width":10,"height":10}"#; 11].join(","));
    for (sizes, field) in [
        (eleven.as_str(), "upload_sizes"),
        ("not json", "upload_sizes"),
        (r#"[{"width":0,"height":10}]"#, "upload_sizes[0].width"),
        (r#"[{"width":10,"height":10},{"width":10,"height":4097}]"#, "upload_sizes[1].height"),
        (r#"[{"resize":"clip"}]"#, "upload_sizes[0].width"),
        (r#"[{"width":10,"resize":"stretch"}]"#, "upload_sizes[0].resize"),
        (r#"[{"width":10,"crop":"middle"}]"#, "upload_sizes[0].crop"),
    ] {
        let (status, body) =
            post_form(&base, &dana, "image", &[file("p.png", "image/png", &png), text("upload_sizes", sizes)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sizes}: {body}");
        assert!(body["exception_fields"][field].is_string(), "{sizes}: {body}");
    }
    for (query, field) in
        [("w=0", "w"), ("w=5000", "w"), ("w=abc", "w"), ("w=10&resize=x", "resize"), ("h=9&crop=x", "crop")]
    {
        let (status, body) = Client::new(&base).get(&format!("{}?{query}", url.strip_prefix(&base).unwrap())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["exception_fields"][field].is_string(), "{query}: {body}");
    }

    // A decompression bomb is refused before it is decoded: at upload, and when served resized.
    let (status, body) = post_form(
        &base,
        &dana,
        "image",
        &[file("bomb.png", "image/png", &bomb()), text("upload_sizes", r#"[{"width":10}]"#)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["exception_fields"]["file"].is_string(), "{body}");
    let (status, body) = post_form(&base, &dana, "image", &[file("bomb.png", "image/png", &bomb())]).await;
    assert_eq!(status, StatusCode::CREATED, "stored as sent: {body}");
    let got = fetch(&format!("{}?w=10", body["file"].as_str().unwrap())).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&got.bytes));
    // A file that is not a resizable image is served as sent, and not resized.
    let (_, body) = post_form(&base, &dana, "file", &[file("a.txt", "text/plain", b"hello")]).await;
    let got = fetch(&format!("{}?w=10", body["file"].as_str().unwrap())).await;
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    // UploadFile has no upload_sizes: the part is ignored there.
    let (status, body) =
        post_form(&base, &dana, "file", &[file("p.png", "image/png", &png), text("upload_sizes", "[{}]")]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Deleting the image deletes its variants.
    let (status, body) = Client::new(&base).with_token(&dana).delete(&delete_path("image", &url)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!folder.exists(), "the variants went with the image");
    assert_eq!(fetch(&format!("{url}?w=50&h=50&resize=crop&crop=left")).await.status, StatusCode::NOT_FOUND);
}

/// Waits for task `id` to complete and returns it.
async fn completed(api: &Client, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, task) = api.get(&format!("/api/v2/tasks/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{task}");
        if task["status"] == "completed" {
            return task;
        }
        assert_ne!(task["status"], "failed", "{task}");
        assert!(Instant::now() < deadline, "the task did not complete: {task}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_uploads_are_exported_and_deleted_with_their_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::new().await;
    let url = db.url.as_deref();
    let (_server, base) = running(dir.path(), &db, &[]).await;
    let api = Client::new(&base).with_token(server_token());
    api.create_users(&["erin", "finn"]).await;
    let (erin, finn) = (user_token("erin"), user_token("finn"));
    let png = picture(64, 64, image::ImageFormat::Png);
    let (_, image) = post_form(
        &base,
        &erin,
        "image",
        &[file("me.png", "image/png", &png), text("upload_sizes", r#"[{"width":16,"height":16}]"#)],
    )
    .await;
    let (_, doc) = post_form(&base, &erin, "file", &[file("cv.pdf", "application/pdf", b"%PDF-1.7 cv")]).await;
    let (_, finns) = post_form(&base, &finn, "file", &[file("f.txt", "text/plain", b"finn's")]).await;
    let image_url = image["file"].as_str().expect("file").to_string();
    let (doc_url, finns_url) = (doc["file"].as_str().unwrap().to_string(), finns["file"].as_str().unwrap().to_string());

    // The export lists her uploads, and only hers.
    let (status, body) = api.post("/api/v2/feeds/users/erin/export", &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let task = completed(&api, body["task_id"].as_str().expect("task_id")).await;
    assert_eq!(task["result"]["counts"]["uploads"], 2, "{task}");
    let export: Value = reqwest::get(task["result"]["url"].as_str().expect("url")).await.unwrap().json().await.unwrap();
    let listed = export["uploads"].as_array().expect("uploads");
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["url"], image_url.as_str());
    assert_eq!((listed[0]["name"].as_str(), listed[0]["mime_type"].as_str()), (Some("me.png"), Some("image/png")));
    assert_eq!((listed[0]["size"].as_u64(), listed[0]["type"].as_str()), (Some(png.len() as u64), Some("image")));
    assert!(listed[0]["created_at"].as_i64().is_some_and(|t| t > 1_000_000_000_000_000_000), "{listed:?}");
    assert_eq!(listed[1]["url"], doc_url.as_str());
    assert_eq!((listed[1]["mime_type"].as_str(), listed[1]["size"].as_u64()), (Some("application/pdf"), Some(11)));

    // A failed removal of bytes is no failure of the task: the upload's
    // record goes, and it stays findable as an orphan. (Her image's folder
    // is made a plain file, which cannot be removed as a folder.)
    let folder = |u: &str| dir.path().join("uploads").join(u.rsplit('/').nth(1).expect("token"));
    let (image_folder, doc_folder) = (folder(&image_url), folder(&doc_url));
    let kept = dir.path().join("kept");
    std::fs::rename(&image_folder, &kept).expect("move aside");
    std::fs::write(&image_folder, b"in the way").expect("block");
    let (status, body) = api.post("/api/v2/feeds/users/erin/delete", &json!({ "hard_delete": false })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let task = completed(&api, body["task_id"].as_str().expect("task_id")).await;
    assert_eq!(task["result"]["deleted"]["uploads"], 2, "{task}");
    assert_eq!(count_in_database(dir.path(), url, "SELECT COUNT(*) FROM uploads WHERE user_id = 'erin'").await, 0);
    assert_eq!(count_in_database(dir.path(), url, "SELECT COUNT(*) FROM upload_orphans").await, 1);
    assert!(!doc_folder.exists(), "her file is gone");
    assert_eq!(fetch(&doc_url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(fetch(&image_url).await.status, StatusCode::NOT_FOUND, "what has no record is not served");
    // Deleting her data again retries the orphan.
    std::fs::remove_file(&image_folder).expect("unblock");
    std::fs::rename(&kept, &image_folder).expect("put back");
    let (_, body) = api.post("/api/v2/feeds/users/erin/delete", &json!({ "hard_delete": true })).await;
    let task = completed(&api, body["task_id"].as_str().expect("task_id")).await;
    assert_eq!(task["result"]["deleted"]["uploads"], 0, "{task}");
    assert!(!image_folder.exists(), "her image and its variant are gone");
    assert_eq!(count_in_database(dir.path(), url, "SELECT COUNT(*) FROM upload_orphans").await, 0);

    // Finn's file was untouched; DeleteUsers with a hard delete removes it.
    let got = fetch(&finns_url).await;
    assert_eq!((got.status, got.bytes.as_slice()), (StatusCode::OK, &b"finn's"[..]));
    let (status, body) = api.post("/api/v2/users/delete", &json!({ "user_ids": ["finn"], "user": "hard" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    completed(&api, body["task_id"].as_str().expect("task_id")).await;
    assert_eq!(fetch(&finns_url).await.status, StatusCode::NOT_FOUND);
    assert!(!folder(&finns_url).exists());
    assert_eq!(count_in_database(dir.path(), url, "SELECT COUNT(*) FROM uploads").await, 0);
}
