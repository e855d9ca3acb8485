//! Static assets, embedded in the binary (government intranets have no CDN). Vendored
//! third-party files are listed with versions and licences in `static/vendor/README.md`.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

macro_rules! assets {
    ($($path:literal => $mime:literal),* $(,)?) => {
        const ASSETS: &[(&str, &str, &[u8])] = &[
            $(($path, $mime, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/", $path)))),*
        ];
    };
}

assets! {
    "css/linli.css" => "text/css; charset=utf-8",
    "css/portal.css" => "text/css; charset=utf-8",
    "js/portal.js" => "text/javascript; charset=utf-8",
    "js/linli.js" => "text/javascript; charset=utf-8",
    "img/logo.svg" => "image/svg+xml",
    "vendor/tabler/tabler.min.css" => "text/css; charset=utf-8",
    "vendor/tabler/tabler.min.js" => "text/javascript; charset=utf-8",
    "vendor/htmx/htmx.min.js" => "text/javascript; charset=utf-8",
    "vendor/swagger-ui/swagger-ui.css" => "text/css; charset=utf-8",
    "vendor/swagger-ui/swagger-ui-bundle.js" => "text/javascript; charset=utf-8",
    "vendor/echarts/echarts.min.js" => "text/javascript; charset=utf-8",
    "vendor/leaflet/leaflet.js" => "text/javascript; charset=utf-8",
    "vendor/leaflet/leaflet.css" => "text/css; charset=utf-8",
    "vendor/leaflet/images/layers.png" => "image/png",
    "vendor/leaflet/images/layers-2x.png" => "image/png",
    "vendor/leaflet/images/marker-icon.png" => "image/png",
    "vendor/leaflet/images/marker-icon-2x.png" => "image/png",
    "vendor/leaflet/images/marker-shadow.png" => "image/png",
}

pub async fn serve(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                ),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
