//! An S3-compatible object store (AWS S3, MinIO, Ceph RGW, cloud object storage), spoken to
//! with plain PUT/GET/DELETE object requests signed with AWS Signature Version 4 in the
//! `Authorization` header. The signing is done here with `hmac`/`sha2` (a page of code, checked
//! against the examples in the AWS documentation) rather than with an SDK.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, StatusCode, Url};
use sha2::{Digest, Sha256};

use super::BlobError;
use crate::config::S3Config;

/// Requests are signed for this service name.
const SERVICE: &str = "s3";

pub struct S3Store {
    client: reqwest::Client,
    /// `https` or `http`.
    scheme: String,
    /// Host as sent in the `Host` header (with the port when it is not the scheme's default).
    host: String,
    /// Path prefix of the endpoint (usually empty), without a trailing slash.
    base_path: String,
    region: String,
    bucket: String,
    path_style: bool,
    access_key: String,
    secret_key: String,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("endpoint", &self.describe())
            .finish_non_exhaustive()
    }
}

impl S3Store {
    pub fn new(cfg: &S3Config) -> Result<S3Store, BlobError> {
        let missing: Vec<&str> = [
            ("endpoint", &cfg.endpoint),
            ("region", &cfg.region),
            ("bucket", &cfg.bucket),
            ("access_key", &cfg.access_key),
            ("secret_key", &cfg.secret_key),
        ]
        .iter()
        .filter(|(_, v)| v.trim().is_empty())
        .map(|(k, _)| *k)
        .collect();
        if !missing.is_empty() {
            return Err(BlobError::Config(format!(
                "attachments.s3 needs {}",
                missing.join(", ")
            )));
        }
        let url = Url::parse(cfg.endpoint.trim())
            .map_err(|e| BlobError::Config(format!("attachments.s3.endpoint: {e}")))?;
        let scheme = url.scheme().to_string();
        if scheme != "https" && scheme != "http" {
            return Err(BlobError::Config(
                "attachments.s3.endpoint must start with https:// or http://".into(),
            ));
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(BlobError::Config(
                    "attachments.s3.endpoint has no host".into(),
                ));
            }
        };
        let bucket_ok = cfg.bucket.len() >= 3
            && cfg.bucket.len() <= 63
            && cfg
                .bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(BlobError::Config(
                "attachments.s3.bucket: 3–63 lower-case letters, digits, '-' or '.'".into(),
            ));
        }
        let region_ok = cfg
            .region
            .trim()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !region_ok {
            return Err(BlobError::Config(
                "attachments.s3.region: letters, digits, '-' or '_'".into(),
            ));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(cfg.timeout_secs.max(1)))
            .build()
            .map_err(|e| BlobError::Config(format!("HTTP client: {e}")))?;
        Ok(S3Store {
            client,
            scheme,
            host,
            base_path: url.path().trim_end_matches('/').to_string(),
            region: cfg.region.trim().to_string(),
            bucket: cfg.bucket.clone(),
            path_style: cfg.path_style,
            access_key: cfg.access_key.trim().to_string(),
            secret_key: cfg.secret_key.trim().to_string(),
        })
    }

    /// `https://host/bucket` — for logs; no credentials.
    pub fn describe(&self) -> String {
        if self.path_style {
            format!(
                "{}://{}{}/{}",
                self.scheme, self.host, self.base_path, self.bucket
            )
        } else {
            format!(
                "{}://{}.{}{}",
                self.scheme, self.bucket, self.host, self.base_path
            )
        }
    }

    /// Host header and canonical (already encoded) path of the bucket.
    fn bucket_target(&self) -> (String, String) {
        if self.path_style {
            let path = format!("{}/{}", self.base_path, uri_encode(&self.bucket, false));
            (self.host.clone(), path)
        } else {
            let path = if self.base_path.is_empty() {
                "/".to_string()
            } else {
                self.base_path.clone()
            };
            (format!("{}.{}", self.bucket, self.host), path)
        }
    }

    /// Host header and canonical (already encoded) path of an object.
    fn target(&self, key: &str) -> (String, String) {
        let (host, mut path) = self.bucket_target();
        if !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(&uri_encode(key, true));
        (host, path)
    }

    async fn send(
        &self,
        method: Method,
        (host, path): (String, String),
        body: Option<&[u8]>,
    ) -> Result<reqwest::Response, BlobError> {
        let payload_hash = hex::encode(Sha256::digest(body.unwrap_or_default()));
        let amz_date = amz_date(std::time::SystemTime::now());
        let auth = authorization(&Signing {
            method: method.as_str(),
            host: &host,
            path: &path,
            query: "",
            extra_headers: &[],
            payload_hash: &payload_hash,
            amz_date: &amz_date,
            region: &self.region,
            access_key: &self.access_key,
            secret_key: &self.secret_key,
        });
        let url = format!("{}://{host}{path}", self.scheme);
        let mut req = self
            .client
            .request(method, url)
            .header("x-amz-date", &amz_date)
            .header("x-amz-content-sha256", &payload_hash)
            .header("authorization", auth);
        if let Some(b) = body {
            req = req.body(b.to_vec());
        }
        req.send()
            .await
            .map_err(|e| BlobError::Remote(format!("request failed: {}", without_url(&e))))
    }

    pub(crate) async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let resp = self
            .send(Method::PUT, self.target(key), Some(bytes))
            .await?;
        ok_or_error(resp).await.map(drop)
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let resp = self.send(Method::GET, self.target(key), None).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(BlobError::NotFound);
        }
        let resp = ok_or_error(resp).await?;
        let body = resp
            .bytes()
            .await
            .map_err(|e| BlobError::Remote(format!("reading object: {}", without_url(&e))))?;
        Ok(body.to_vec())
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let resp = self.send(Method::DELETE, self.target(key), None).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        ok_or_error(resp).await.map(drop)
    }

    /// Create the bucket (for test servers and first-time set-up scripts).
    /// Outside `us-east-1` S3 wants the region restated in the body.
    pub async fn create_bucket(&self) -> Result<(), BlobError> {
        let body = if self.region == "us-east-1" {
            String::new()
        } else {
            format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                self.region
            )
        };
        let resp = self
            .send(Method::PUT, self.bucket_target(), Some(body.as_bytes()))
            .await?;
        ok_or_error(resp).await.map(drop)
    }
}

/// reqwest errors print the URL; ours carry no secrets, but keep messages short and uniform.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "<object>");
    }
    s
}

async fn ok_or_error(resp: reqwest::Response) -> Result<reqwest::Response, BlobError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.text().await.unwrap_or_default();
    let code = xml_element(&body, "Code").unwrap_or("no error code");
    Err(BlobError::Remote(format!("{} {code}", status.as_u16())))
}

/// The text of the first `<name>…</name>` in an S3 error document.
fn xml_element<'a>(doc: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&close)? + start;
    Some(&doc[start..end])
}

/// `20130524T000000Z`: the request time as SigV4 wants it (UTC).
fn amz_date(t: std::time::SystemTime) -> String {
    let micros = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    let d = linli_domain::Ts(micros).to_datetime();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// S3's URI encoding: every byte but the unreserved `A–Z a–z 0–9 - . _ ~` as `%XX`, and `/`
/// kept when encoding an object key path.
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One request to sign.
struct Signing<'a> {
    method: &'a str,
    host: &'a str,
    /// Canonical URI, already encoded.
    path: &'a str,
    /// Canonical query string (sorted, encoded), usually empty.
    query: &'a str,
    /// Further headers to sign, lower-case names (e.g. `range`).
    extra_headers: &'a [(&'a str, &'a str)],
    payload_hash: &'a str,
    amz_date: &'a str,
    region: &'a str,
    access_key: &'a str,
    secret_key: &'a str,
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; the error arm cannot happen.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The `Authorization` header value for a request (AWS Signature Version 4, header form).
fn authorization(s: &Signing<'_>) -> String {
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), s.host.to_string()),
        ("x-amz-content-sha256".into(), s.payload_hash.to_string()),
        ("x-amz-date".into(), s.amz_date.to_string()),
    ];
    for (k, v) in s.extra_headers {
        headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
    }
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        s.method, s.path, s.query, s.payload_hash
    );
    let date = &s.amz_date[..8.min(s.amz_date.len())];
    let scope = format!("{date}/{}/{SERVICE}/aws4_request", s.region);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        s.amz_date,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac_sha256(format!("AWS4{}", s.secret_key).as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, s.region.as_bytes());
    let k_service = hmac_sha256(&k_region, SERVICE.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"aws4_request");
    let signature = hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed_headers},Signature={signature}",
        s.access_key
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const ACCESS: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const EMPTY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// "Example: GET Object" from the S3 documentation on header-based SigV4 authentication.
    #[test]
    fn signs_the_documented_get_object_example() {
        let auth = authorization(&Signing {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: "",
            extra_headers: &[("Range", "bytes=0-9")],
            payload_hash: EMPTY_HASH,
            amz_date: "20130524T000000Z",
            region: "us-east-1",
            access_key: ACCESS,
            secret_key: SECRET,
        });
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// "Example: PUT Object" from the same page: a key with `$` (encoded), extra headers.
    #[test]
    fn signs_the_documented_put_object_example() {
        let body = b"Welcome to Amazon S3.";
        let hash = hex::encode(Sha256::digest(body));
        assert_eq!(
            hash,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        let auth = authorization(&Signing {
            method: "PUT",
            host: "examplebucket.s3.amazonaws.com",
            path: &format!("/{}", uri_encode("test$file.text", true)),
            query: "",
            extra_headers: &[
                ("date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ],
            payload_hash: &hash,
            amz_date: "20130524T000000Z",
            region: "us-east-1",
            access_key: ACCESS,
            secret_key: SECRET,
        });
        assert!(
            auth.ends_with(
                "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,\
                 Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
            ),
            "{auth}"
        );
    }

    #[test]
    fn object_urls_in_both_styles() {
        let mut cfg = S3Config {
            endpoint: "http://127.0.0.1:9000/".into(),
            bucket: "linli-files".into(),
            access_key: "a".into(),
            secret_key: "s".into(),
            ..S3Config::default()
        };
        let s = S3Store::new(&cfg).unwrap();
        assert_eq!(
            s.target("110101/ab/abcd"),
            (
                "127.0.0.1:9000".to_string(),
                "/linli-files/110101/ab/abcd".to_string()
            )
        );
        assert_eq!(s.describe(), "http://127.0.0.1:9000/linli-files");
        cfg.endpoint = "https://oss-cn-beijing.aliyuncs.com".into();
        cfg.path_style = false;
        let s = S3Store::new(&cfg).unwrap();
        assert_eq!(
            s.target("k"),
            (
                "linli-files.oss-cn-beijing.aliyuncs.com".to_string(),
                "/k".to_string()
            )
        );
        assert!(!format!("{s:?}").contains("\"s\""));

        for bad in [
            S3Config {
                secret_key: String::new(),
                ..cfg.clone()
            },
            S3Config {
                endpoint: "ftp://x".into(),
                ..cfg.clone()
            },
            S3Config {
                bucket: "Bad_Bucket".into(),
                ..cfg.clone()
            },
        ] {
            assert!(matches!(S3Store::new(&bad), Err(BlobError::Config(_))));
        }
    }

    #[test]
    fn dates_and_error_codes() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        assert_eq!(amz_date(t), "20130524T000000Z");
        assert_eq!(
            xml_element(
                "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code></Error>",
                "Code"
            ),
            Some("NoSuchBucket")
        );
        assert_eq!(uri_encode("a b/é", true), "a%20b/%C3%A9");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
    }
}
