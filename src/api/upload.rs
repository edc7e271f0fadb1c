//! Media upload: ask UltraCart for a presigned URL, then PUT the bytes there.

use std::{fmt, path::Path, time::Duration};

use bytes::Bytes;
use tracing::Instrument;
use url::Url;

use crate::{
    BodyExcerpt, Client, Error,
    http::{
        Repeat,
        retry::{self, Outcome, Tried},
        retry_after,
    },
    net::{Redirect, check_scheme, redirect_of},
};

/// How much of the storage service's refusal an error keeps.
const REFUSAL_EXCERPT_BYTES: usize = 4 * 1024;

/// Where an uploaded file now lives.
///
/// `Debug` leaves out the URL's query: on a presigned URL it is a signature
/// that lets anyone write to the object until it expires.
///
#[doc = mock_fence!()]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ultracart_conversation::Error> {
/// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
/// # let client = demo.client()?;
/// # let logo = std::env::temp_dir().join(format!("ultracart-doc-logo-{}.png", std::process::id()));
/// # std::fs::write(&logo, [0u8; 256]).unwrap();
/// let media = client.upload_multimedia("png", std::fs::read(&logo).unwrap()).await?;
/// println!("stored as {}", media.key());
/// # std::fs::remove_file(&logo).unwrap();
/// # assert_eq!(demo.uploaded(media.key()), Some(256));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct UploadedMedia {
    key: String,
    url: Url,
}

impl UploadedMedia {
    /// The stored object's key, to refer to the media in a conversation.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let media = demo.client()?.upload_multimedia("png", vec![0u8; 64]).await?;
    /// println!("{}", media.key());
    /// # assert_eq!(demo.uploaded(media.key()), Some(64));
    /// # Ok(()) }
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The presigned URL the bytes went to.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let media = demo.client()?.upload_multimedia("png", vec![0u8; 64]).await?;
    /// println!("{}", media.url().path());
    /// # assert!(media.url().path().ends_with(media.key()), "{media:?}");
    /// # Ok(()) }
    /// ```
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl fmt::Debug for UploadedMedia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.url.clone();
        if shown.query().is_some() {
            shown.set_query(Some("[REDACTED]"));
        }
        f.debug_struct("UploadedMedia")
            .field("key", &self.key)
            .field("url", &shown.as_str())
            .finish()
    }
}

/// Where the bytes come from; each attempt reads them afresh.
enum Source<'a> {
    Memory(Bytes),
    File { path: &'a Path, len: u64 },
}

impl Source<'_> {
    async fn body(&self) -> Result<(reqwest::Body, u64), Error> {
        match self {
            Self::Memory(bytes) => Ok((reqwest::Body::from(bytes.clone()), bytes.len() as u64)),
            Self::File { path, len } => {
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| upload_io_error(path, e))?;
                // Streamed: a large file is never held in memory whole.
                let stream = tokio_util::io::ReaderStream::new(file);
                Ok((reqwest::Body::wrap_stream(stream), *len))
            }
        }
    }
}

fn upload_io_error(path: &Path, error: std::io::Error) -> Error {
    Error::Upload {
        status: None,
        message: format!("cannot read {}", path.display()),
        source: Some(Box::new(error)),
    }
}

impl Client {
    /// Uploads media held in memory: asks UltraCart for a presigned URL
    /// (`get_conversation_multimedia_upload_url`), then PUTs the bytes to
    /// it. The PUT carries no UltraCart key, token or version header: that
    /// host is a storage service, not UltraCart.
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let client = demo.client()?;
    /// # let photo = std::env::temp_dir().join(format!("ultracart-doc-photo-{}.jpg", std::process::id()));
    /// # std::fs::write(&photo, [0u8; 1024]).unwrap();
    /// let jpeg: Vec<u8> = std::fs::read(&photo).unwrap();
    /// let media = client.upload_multimedia("jpg", jpeg).await?;
    /// println!("uploaded {}", media.key());
    /// # std::fs::remove_file(&photo).unwrap();
    /// # assert_eq!(demo.uploaded(media.key()), Some(1024));
    /// # Ok(()) }
    /// ```
    pub async fn upload_multimedia(
        &self,
        extension: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<UploadedMedia, Error> {
        self.upload(extension, Source::Memory(bytes.into())).await
    }

    /// Uploads a file, streaming it from disk rather than reading it into
    /// memory; see [`upload_multimedia`](Self::upload_multimedia).
    ///
    #[doc = mock_fence!()]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ultracart_conversation::Error> {
    /// # let demo = ultracart_conversation::mock::DemoServer::with_conversations(1).await;
    /// # let client = demo.client()?;
    /// # let recording = std::env::temp_dir().join(format!("ultracart-doc-recording-{}.mp4", std::process::id()));
    /// # std::fs::write(&recording, vec![0u8; 100_000]).unwrap();
    /// let media = client.upload_multimedia_file("mp4", &recording).await?;
    /// # std::fs::remove_file(&recording).unwrap();
    /// # assert_eq!(demo.uploaded(media.key()), Some(100_000));
    /// # Ok(()) }
    /// ```
    pub async fn upload_multimedia_file(
        &self,
        extension: &str,
        path: impl AsRef<Path>,
    ) -> Result<UploadedMedia, Error> {
        let path = path.as_ref();
        let len = tokio::fs::metadata(path)
            .await
            .map_err(|e| upload_io_error(path, e))?
            .len();
        self.upload(extension, Source::File { path, len }).await
    }

    async fn upload(&self, extension: &str, source: Source<'_>) -> Result<UploadedMedia, Error> {
        let answer = self
            .get_conversation_multimedia_upload_url(extension)
            .await?;
        let target = answer
            .conversation_multimedia_upload_url
            .unwrap_or_default();
        let (Some(key), Some(url)) = (target.key, target.url) else {
            return Err(Error::upload("UltraCart's answer has no upload key or URL"));
        };
        // Messages never quote the URL: its query is a signature.
        let url = Url::parse(&url).map_err(|e| {
            Error::upload(format!("UltraCart's upload URL is not a valid URL: {e}"))
        })?;
        check_scheme(&url, "upload URL").map_err(Error::upload)?;
        let http = self.http_for(&url)?;
        let span = tracing::debug_span!("ultracart_conversation.upload", extension, key = %key);
        self.put_with_retries(http, &url, content_type(extension), &source)
            .instrument(span)
            .await?;
        Ok(UploadedMedia { key, url })
    }

    /// PUTs the bytes, retrying as API calls are retried. The request goes
    /// to the storage service: no gate, pacing or credential of UltraCart's.
    async fn put_with_retries(
        &self,
        http: &reqwest::Client,
        url: &Url,
        content_type: &str,
        source: &Source<'_>,
    ) -> Result<(), Error> {
        let policy = &self.pipeline().settings().retry;
        let (response, _attempts) =
            retry::run(policy, Repeat::Safe, None, "media upload", None, (), |()| {
                self.put_once(http, url, content_type, source)
            })
            .await;
        let response = response?;
        let status = response.status();
        // A caller-supplied client may have followed a redirect: then the
        // bytes went elsewhere, whatever that host answered.
        let followed = response.url() != url;
        if status.is_success() && !followed {
            return Ok(());
        }
        let message = match redirect_of(followed, response.url(), status, response.headers()) {
            Some(Redirect { followed, host }) => {
                let host = host.as_deref().unwrap_or("an unnamed host");
                if followed {
                    format!(
                        "the upload was redirected to {host}; build the HTTP client without redirects"
                    )
                } else {
                    format!(
                        "the storage service answered {status} towards {host}, and the client does not follow redirects"
                    )
                }
            }
            None => format!(
                "the storage service answered {status}: {}",
                refusal_excerpt(response).await
            ),
        };
        Err(Error::Upload {
            status: Some(status),
            message,
            source: None,
        })
    }
}

impl Client {
    async fn put_once(
        &self,
        http: &reqwest::Client,
        url: &Url,
        content_type: &str,
        source: &Source<'_>,
    ) -> Tried<(), Result<reqwest::Response, Error>> {
        let (body, len) = match source.body().await {
            Ok(body) => body,
            Err(error) => {
                return Tried {
                    result: Err(error),
                    outcome: Outcome::Final,
                    again: None,
                };
            }
        };
        let result = http
            .put(url.clone())
            .header(http::header::CONTENT_TYPE, content_type)
            .header(http::header::CONTENT_LENGTH, len)
            .timeout(self.upload_timeout())
            .body(body)
            .send()
            .await;
        let outcome = match &result {
            Ok(response) => Outcome::Status {
                status: response.status(),
                retry_after: retry_after::read(response.headers()),
            },
            Err(e) => Outcome::of_transport_error(e),
        };
        Tried {
            // The URL's signature is a credential: errors drop it.
            result: result.map_err(|e| Error::from_reqwest(e.without_url())),
            outcome,
            again: Some(()),
        }
    }
}

async fn refusal_excerpt(mut response: reqwest::Response) -> BodyExcerpt {
    let mut body = Vec::new();
    while body.len() < REFUSAL_EXCERPT_BYTES {
        match tokio::time::timeout(Duration::from_secs(5), response.chunk()).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    BodyExcerpt::new(&body)
}

/// The media type storage will serve the file with.
fn content_type(extension: &str) -> &'static str {
    match extension
        .trim_start_matches('.')
        .to_ascii_lowercase()
        .as_str()
    {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "svg" => "image/svg+xml",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("JPG"), "image/jpeg");
        assert_eq!(content_type(".png"), "image/png");
        assert_eq!(content_type("bin"), "application/octet-stream");
    }

    #[test]
    fn debug_hides_the_signature() {
        let media = UploadedMedia {
            key: "k".into(),
            url: Url::parse("https://s3.test/k?X-Amz-Signature=TOPSECRET").unwrap(),
        };
        let text = format!("{media:?}");
        assert!(
            !text.contains("TOPSECRET") && text.contains("s3.test/k"),
            "{text}"
        );
    }
}
