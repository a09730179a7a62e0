//! The API reference in a browser (`/docs`): served whole by the binary, and rendered by a real
//! headless Chromium, which must list the help-request operations.
//!
//! The browser test needs Chromium (`chromium`, or the binary named by `HUYING_CHROMIUM`).
//! Without one it says so and passes, so that `cargo test` stays green on a machine with only
//! Rust; `.ci/run` installs Chromium and sets `HUYING_REQUIRE_BROWSER=1`, under which a missing
//! browser fails the test.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use reqwest::Method;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_docs_page_and_its_viewer_are_served_without_a_cdn() {
    let app = spawn_app().await;
    let page = app.send(app.req(Method::GET, "/docs")).await.expect(200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        page.headers
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = app.text("/docs").await;
    assert!(html.contains(r#"spec-url="/openapi.yaml""#), "{html}");
    assert!(
        !html.contains("https://"),
        "the page fetches nothing elsewhere: {html}"
    );

    let js = app
        .send(app.req(Method::GET, "/docs/redoc-2.5.4.standalone.js"))
        .await
        .expect(200);
    assert!(js.header("cache-control").unwrap().contains("immutable"));
    let head = app
        .send(app.req(Method::HEAD, "/docs/redoc-2.5.4.standalone.js"))
        .await
        .expect(200);
    assert!(
        head.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    let post = app.req(Method::POST, "/docs").send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
}

/// The Chromium to drive, if any.
fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("HUYING_CHROMIUM") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|p| p.is_file())
}

/// Runs headless Chromium on `url` with `args`, giving its scripts up to 20 s of virtual time
/// (it stops as soon as the page is idle).
fn headless(browser: &PathBuf, url: &str, args: &[&str]) -> std::process::Output {
    let profile = tempdir("huying-chromium");
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        "--virtual-time-budget=20000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .arg(url);
    let out = cmd.output().expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    out
}

fn tempdir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_browser_renders_the_docs_page_with_the_help_request_operations() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("HUYING_REQUIRE_BROWSER").is_none(),
            "HUYING_REQUIRE_BROWSER is set but no Chromium was found (install `chromium`)"
        );
        eprintln!("SKIPPED: no Chromium on PATH; the docs page was not rendered in a browser");
        return;
    };
    let app = spawn_app().await;
    let url = format!("{}/docs", app.base);
    // The browser blocks the test's thread; the server keeps answering on the runtime's others.
    let (b, u) = (browser.clone(), url.clone());
    let dom = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || headless(&b, &u, &["--dump-dom"])),
    )
    .await
    .expect("chromium finishes")
    .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    // The operations' summaries as Redoc lists them in its menu, and the API's title: the spec
    // was fetched, parsed and rendered, not just the page's frame.
    for text in [
        "Huying (呼应) API",
        "Place a help request",
        "Accept an offer",
        "help-requests",
    ] {
        assert!(
            dom.contains(text),
            "{text:?} not rendered; DOM:\n{dom:.4000}"
        );
    }

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docs-page.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    let out = tokio::task::spawn_blocking(move || {
        headless(&browser, &url, &[&arg, "--window-size=1280,1600"])
    })
    .await
    .unwrap();
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "no screenshot at {} ({size} bytes): {}",
        shot.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("docs page screenshot: {}", shot.display());
}
