//! CORS for browser clients (`@stream-io/feeds-client`), whose every call
//! carries `authorization` and other non-safelisted headers and is therefore
//! preflighted.
//!
//! The outermost layer of the app: an `OPTIONS` request on any path is
//! answered here, before the route table, auth or the body checks see it
//! (preflights carry no JWT), and every other response — errors, the
//! unknown-route and wrong-method fallbacks and caught panics included —
//! gets `Access-Control-Allow-Origin` on the way out, so a browser can read
//! the `APIError` body (and a 401/40 can trigger the SDK's token refresh).
//! No credentials mode: the SDK sends its token in a header, not a cookie.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ORIGIN, VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::CorsOrigins;

const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS");
/// Listed by name: a `*` would not cover `authorization`.
const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static(
    "authorization, content-type, stream-auth-type, x-client-request-id, x-stream-client, accept, accept-encoding",
);
/// One preflight per path and method a day, not one per call.
const MAX_AGE: HeaderValue = HeaderValue::from_static("86400");
/// The SDK reads these into `metadata.rate_limit`.
const EXPOSE_HEADERS: HeaderValue =
    HeaderValue::from_static("X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After");

/// Middleware (`from_fn_with_state`): answers preflights, labels every
/// other response.
pub async fn cors(State(origins): State<Arc<CorsOrigins>>, req: Request, next: Next) -> Response {
    let allow_origin = match origins.as_ref() {
        CorsOrigins::Any => Some(HeaderValue::from_static("*")),
        CorsOrigins::List(_) => {
            req.headers().get(ORIGIN).filter(|o| o.to_str().is_ok_and(|o| origins.allows(o))).cloned()
        }
    };
    let preflight = req.method() == Method::OPTIONS;
    let mut response = if preflight { StatusCode::NO_CONTENT.into_response() } else { next.run(req).await };
    let headers = response.headers_mut();
    if let Some(origin) = allow_origin {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    if matches!(origins.as_ref(), CorsOrigins::List(_)) {
        // The answer depends on the Origin header, whether echoed or not.
        headers.append(VARY, HeaderValue::from_static("origin"));
    }
    if preflight {
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
        headers.insert(ACCESS_CONTROL_MAX_AGE, MAX_AGE);
    } else {
        headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::middleware;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    /// The layer order of `build_app`: a panic caught inside still leaves
    /// through this layer and gets the headers.
    #[tokio::test]
    async fn a_caught_panic_is_labelled() {
        let app = Router::new()
            .route("/boom", get(|| async { panic!("boom") as &str }))
            .layer(CatchPanicLayer::new())
            .layer(middleware::from_fn_with_state(Arc::new(CorsOrigins::Any), cors));
        let response =
            app.oneshot(Request::get("/boom").body(Body::empty()).expect("request")).await.expect("response");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN), Some(&HeaderValue::from_static("*")));
    }
}
