//! How a request proves who sends it: an API key, or an OAuth 2.0 access
//! token.
//!
//! Copper offers both ([Authentication](https://developer.copper.com/introduction/authentication.html)):
//! API keys "are suitable for individual users", OAuth 2.0 "is the preferred
//! approach for partner integrations". An API key goes in three headers
//! (`X-PW-AccessToken`, `X-PW-Application: developer_api`,
//! `X-PW-UserEmail`). An access token goes in `Authorization: Bearer`, as
//! Copper's [OAuth quick start](https://developer.copper.com/introduction/oauth/quickstart.html)
//! sends it, with `X-PW-Application: developer_api`, which Copper's
//! [Requests](https://developer.copper.com/introduction/requests.html) page
//! asks of every call; neither the API key's header nor the user e-mail is
//! sent, since the token names its user.
//!
//! Either secret is held as a header value marked sensitive, so neither the
//! `Debug` of these types nor that of a request carrying one shows it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

/// The header that carries the API key.
pub const ACCESS_TOKEN: HeaderName = HeaderName::from_static("x-pw-accesstoken");
/// The header that names the application; always `developer_api`.
pub const APPLICATION: HeaderName = HeaderName::from_static("x-pw-application");
/// The header that carries the e-mail of the API key's owner.
pub const USER_EMAIL: HeaderName = HeaderName::from_static("x-pw-useremail");

/// How many of the access tokens a [`TokenSource`] gave are remembered, so
/// that a server's text quoting one of them is still redacted after the
/// token was replaced: far more than the requests a client has in flight,
/// even with a source that gives each request a token of its own.
const TOKENS_REMEMBERED: usize = 256;

/// What Copper authenticates a request with: an API key and its owner's
/// e-mail, or an OAuth 2.0 access token.
///
/// Cloning is cheap, and clones of OAuth credentials share their
/// [`TokenSource`].
#[derive(Clone)]
pub struct Credentials(Kind);

#[derive(Clone)]
enum Kind {
    ApiKey {
        token: HeaderValue,
        user_email: HeaderValue,
    },
    OAuth(Arc<OAuth>),
}

/// OAuth credentials: where each request's token comes from, and the
/// tokens it gave lately, for redaction.
struct OAuth {
    source: Box<dyn TokenSource>,
    recent: Mutex<Vec<HeaderValue>>,
}

impl Credentials {
    /// API-key credentials: the key, and the e-mail of the user who made it.
    ///
    /// Fails when either value cannot be sent in an HTTP header (it is empty
    /// or holds a control character); the error never repeats the token.
    pub fn new(token: &str, user_email: &str) -> Result<Self, InvalidCredentials> {
        let token = secret(
            token,
            InvalidCredentials::EmptyToken,
            InvalidCredentials::TokenNotAHeaderValue,
        )?;
        let user_email = header_value(
            user_email,
            InvalidCredentials::EmptyUserEmail,
            InvalidCredentials::UserEmailNotAHeaderValue,
        )?;
        Ok(Credentials(Kind::ApiKey { token, user_email }))
    }

    /// OAuth credentials with one access token, sent as
    /// `Authorization: Bearer <token>` (with `X-PW-Application:
    /// developer_api`) with every request.
    ///
    /// Copper documents no expiry for its access tokens; when yours can
    /// change, use [`Credentials::oauth_source`].
    pub fn oauth(access_token: &str) -> Result<Self, InvalidCredentials> {
        Ok(Self::oauth_source(SharedToken::new(access_token)?))
    }

    /// OAuth credentials that ask `source` for the access token before each
    /// request, so that a token refreshed while a client runs is used from
    /// its next request on, without building the client again.
    pub fn oauth_source(source: impl TokenSource) -> Self {
        Credentials(Kind::OAuth(Arc::new(OAuth {
            source: Box::new(source),
            recent: Mutex::new(Vec::new()),
        })))
    }

    /// Whether these are OAuth credentials.
    pub fn is_oauth(&self) -> bool {
        matches!(self.0, Kind::OAuth(_))
    }

    /// The e-mail of the API key's owner; `None` for OAuth credentials,
    /// whose token names its user.
    pub fn user_email(&self) -> Option<&str> {
        match &self.0 {
            Kind::ApiKey { user_email, .. } => Some(user_email.to_str().unwrap_or_default()),
            Kind::OAuth(_) => None,
        }
    }

    /// `text` with every occurrence of the secret replaced by `<redacted>`:
    /// for text that came from elsewhere (a server's error message) before
    /// it is shown or logged. For OAuth credentials, the last few tokens
    /// the source gave are all redacted.
    pub fn redact(&self, text: &str) -> String {
        let secrets: Vec<String> = match &self.0 {
            Kind::ApiKey { token, .. } => {
                token.to_str().ok().map(str::to_owned).into_iter().collect()
            }
            Kind::OAuth(oauth) => oauth
                .recent()
                .iter()
                .filter_map(|bearer| {
                    bearer
                        .to_str()
                        .ok()?
                        .strip_prefix(BEARER)
                        .map(str::to_owned)
                })
                .collect(),
        };
        redact(text, secrets)
    }

    /// Sets the authentication headers on `request`: the three API-key
    /// headers, or `Authorization: Bearer` with the token the source gives
    /// now and `X-PW-Application: developer_api`.
    ///
    /// Fails only when a [`TokenSource`] does; the request must then not be
    /// sent.
    pub async fn apply(&self, request: &mut reqwest::Request) -> Result<(), TokenError> {
        match &self.0 {
            Kind::ApiKey { token, user_email } => {
                let headers = request.headers_mut();
                headers.insert(ACCESS_TOKEN, token.clone());
                headers.insert(APPLICATION, HeaderValue::from_static("developer_api"));
                headers.insert(USER_EMAIL, user_email.clone());
            }
            Kind::OAuth(oauth) => {
                let token = tokio::time::timeout(TOKEN_SOURCE_TIMEOUT, oauth.source.access_token())
                    .await
                    .map_err(|_| {
                        TokenError::new(format!(
                            "the token source gave no token within {} seconds",
                            TOKEN_SOURCE_TIMEOUT.as_secs()
                        ))
                    })??;
                oauth.remember(&token.0);
                let headers = request.headers_mut();
                headers.insert(AUTHORIZATION, token.0);
                headers.insert(APPLICATION, HeaderValue::from_static("developer_api"));
            }
        }
        Ok(())
    }
}

/// `text` with every occurrence of each secret replaced by `<redacted>`,
/// the longest secrets first, so that a token holding another is hidden
/// whole rather than around the shorter one.
fn redact(text: &str, mut secrets: Vec<String>) -> String {
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "<redacted>");
        }
    }
    text
}

impl OAuth {
    fn recent(&self) -> std::sync::MutexGuard<'_, Vec<HeaderValue>> {
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, bearer: &HeaderValue) {
        let mut recent = self.recent();
        if recent.first() != Some(bearer) {
            recent.retain(|seen| seen != bearer);
            recent.insert(0, bearer.clone());
            recent.truncate(TOKENS_REMEMBERED);
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::ApiKey { .. } => f
                .debug_struct("Credentials::ApiKey")
                .field("token", &"<redacted>")
                .field("user_email", &self.user_email().unwrap_or_default())
                .finish(),
            Kind::OAuth(_) => f
                .debug_struct("Credentials::OAuth")
                .field("access_token", &"<redacted>")
                .finish(),
        }
    }
}

/// How the `Authorization` value of a token starts: the token follows.
const BEARER: &str = "Bearer ";

/// The longest a [`TokenSource`] may take to give a token before the
/// request is given up on (and its records reported not applied): a source
/// answers from memory, and one that refreshes first still takes seconds.
/// Without a bound, a source that never answers would hold the run forever,
/// since the request's own timeout starts only once it is sent.
pub const TOKEN_SOURCE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `value` trimmed, as a sensitive header value.
fn secret(
    value: &str,
    empty: InvalidCredentials,
    invalid: InvalidCredentials,
) -> Result<HeaderValue, InvalidCredentials> {
    let mut value = header_value(value, empty, invalid)?;
    value.set_sensitive(true);
    Ok(value)
}

/// `value` trimmed, as a header value of visible ASCII (and spaces inside).
///
/// `HeaderValue` would take bytes beyond ASCII too, but they are not text
/// it can give back (`to_str`), so such a value could be neither compared
/// nor redacted; and a token never holds one: one that does was read with
/// something else, such as a byte-order mark at the start of a file.
fn header_value(
    value: &str,
    empty: InvalidCredentials,
    invalid: InvalidCredentials,
) -> Result<HeaderValue, InvalidCredentials> {
    let value = value.trim();
    if value.is_empty() {
        return Err(empty);
    }
    if !value
        .bytes()
        .all(|byte| byte == b' ' || byte.is_ascii_graphic())
    {
        return Err(invalid);
    }
    HeaderValue::from_str(value).map_err(|_| invalid)
}

/// An OAuth 2.0 access token, ready to be sent as
/// `Authorization: Bearer <token>`. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(HeaderValue);

impl AccessToken {
    /// The token Copper's token endpoint gave (its `access_token`).
    ///
    /// Fails when it is empty or cannot be sent in an HTTP header; the error
    /// never repeats the token.
    pub fn new(token: &str) -> Result<Self, InvalidCredentials> {
        let token = token.trim();
        if token.is_empty() {
            return Err(InvalidCredentials::EmptyAccessToken);
        }
        secret(
            &format!("{BEARER}{token}"),
            InvalidCredentials::EmptyAccessToken,
            InvalidCredentials::AccessTokenNotAHeaderValue,
        )
        .map(AccessToken)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Why a [`TokenSource`] gave no access token. The request it was asked
/// for is not sent.
#[derive(Debug)]
pub struct TokenError(Box<dyn std::error::Error + Send + Sync>);

impl TokenError {
    /// Wraps the reason, which is shown to the user: it must not hold the
    /// token or the client secret.
    pub fn new(reason: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        TokenError(reason.into())
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no OAuth access token: {}", self.0)
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

impl From<InvalidCredentials> for TokenError {
    fn from(error: InvalidCredentials) -> Self {
        TokenError::new(error)
    }
}

/// The future a [`TokenSource`] returns.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, TokenError>> + Send + 'a>>;

/// Where OAuth credentials get the access token for each request.
///
/// It is asked before every request, so it should answer from memory and
/// refresh only when the token it holds is about to expire (or was
/// revoked). It must not block the thread (do blocking work in
/// `tokio::task::spawn_blocking`) and must not panic: a panic ends the run
/// that asked. A source that takes longer than [`TOKEN_SOURCE_TIMEOUT`]
/// fails the request, which is then not sent. Copper's documented tokens do not expire; a source is for
/// applications whose tokens do change, such as ones kept by an
/// integration platform.
///
/// A closure returning a future implements it:
///
/// ```
/// use copper_bulk_raw::hooks::{AccessToken, Credentials, TokenError};
///
/// async fn token_from_my_vault() -> Result<String, std::io::Error> {
///     Ok("the-current-token".to_owned())
/// }
///
/// let credentials = Credentials::oauth_source(|| async {
///     let token = token_from_my_vault().await.map_err(TokenError::new)?;
///     Ok(AccessToken::new(&token)?)
/// });
/// assert!(credentials.is_oauth());
/// ```
///
/// So does [`SharedToken`], which a task of yours replaces when it
/// refreshes the token.
pub trait TokenSource: Send + Sync + 'static {
    /// The access token to send with the next request.
    fn access_token(&self) -> TokenFuture<'_>;
}

impl<F, Fut> TokenSource for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AccessToken, TokenError>> + Send + 'static,
{
    fn access_token(&self) -> TokenFuture<'_> {
        Box::pin(self())
    }
}

/// An access token that can be replaced while clients use it: clone it,
/// give one clone to [`Credentials::oauth_source`] (or the facade's
/// `Config::oauth_source`), and call [`SharedToken::set`] on another when
/// the token is refreshed. Every request prepared after `set` returns
/// carries the new token; one prepared before may still be waiting for its
/// rate-limit permit with the old one, so keep the old token valid for a
/// minute after the refresh if your provider allows it.
///
/// ```
/// use copper_bulk_raw::hooks::{Credentials, SharedToken};
///
/// let token = SharedToken::new("first-token")?;
/// let credentials = Credentials::oauth_source(token.clone());
/// // Later, from the task that refreshes it:
/// token.set("second-token")?;
/// # Ok::<(), copper_bulk_raw::hooks::InvalidCredentials>(())
/// ```
#[derive(Clone)]
pub struct SharedToken(Arc<Mutex<AccessToken>>);

impl SharedToken {
    /// Starts with this token.
    pub fn new(access_token: &str) -> Result<Self, InvalidCredentials> {
        Ok(SharedToken(Arc::new(Mutex::new(AccessToken::new(
            access_token,
        )?))))
    }

    /// Replaces the token for every request from now on. A token that
    /// cannot be sent is refused, and the old one kept.
    pub fn set(&self, access_token: &str) -> Result<(), InvalidCredentials> {
        let token = AccessToken::new(access_token)?;
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = token;
        Ok(())
    }

    fn current(&self) -> AccessToken {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl TokenSource for SharedToken {
    fn access_token(&self) -> TokenFuture<'_> {
        let token = self.current();
        Box::pin(async move { Ok(token) })
    }
}

impl fmt::Debug for SharedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedToken(<redacted>)")
    }
}

/// Why credentials were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidCredentials {
    /// The API key is empty.
    EmptyToken,
    /// The API key holds a character other than printable ASCII.
    TokenNotAHeaderValue,
    /// The user e-mail is empty.
    EmptyUserEmail,
    /// The user e-mail holds a character other than printable ASCII.
    UserEmailNotAHeaderValue,
    /// The OAuth access token is empty.
    EmptyAccessToken,
    /// The OAuth access token holds a character other than printable
    /// ASCII.
    AccessTokenNotAHeaderValue,
}

impl fmt::Display for InvalidCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidCredentials::EmptyToken => "the API key is empty",
            InvalidCredentials::TokenNotAHeaderValue => {
                "the API key holds a character other than printable ASCII, which an HTTP header cannot carry as text (a line break or a byte-order mark?)"
            }
            InvalidCredentials::EmptyUserEmail => "the user e-mail is empty",
            InvalidCredentials::UserEmailNotAHeaderValue => {
                "the user e-mail holds a character other than printable ASCII, which an HTTP header cannot carry as text"
            }
            InvalidCredentials::EmptyAccessToken => "the OAuth access token is empty",
            InvalidCredentials::AccessTokenNotAHeaderValue => {
                "the OAuth access token holds a character other than printable ASCII, which an HTTP header cannot carry as text (a line break or a byte-order mark?)"
            }
        })
    }
}

impl std::error::Error for InvalidCredentials {}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> reqwest::Request {
        reqwest::Request::new(
            reqwest::Method::POST,
            "http://127.0.0.1/developer_api/v1/people/bulk_update"
                .parse()
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn an_api_key_sends_the_three_headers_and_no_bearer() {
        let credentials = Credentials::new(" key ", "me@example.com").unwrap();
        let mut request = request();
        credentials.apply(&mut request).await.unwrap();
        let headers = request.headers();
        assert_eq!(headers[ACCESS_TOKEN], "key");
        assert_eq!(headers[APPLICATION], "developer_api");
        assert_eq!(headers[USER_EMAIL], "me@example.com");
        assert!(headers[ACCESS_TOKEN].is_sensitive());
        assert!(!headers.contains_key(AUTHORIZATION));
        assert_eq!(credentials.user_email(), Some("me@example.com"));
    }

    #[tokio::test]
    async fn an_access_token_sends_a_bearer_and_no_api_key_header() {
        let credentials = Credentials::oauth(" tok-123 ").unwrap();
        let mut request = request();
        credentials.apply(&mut request).await.unwrap();
        let headers = request.headers();
        assert_eq!(headers[AUTHORIZATION], "Bearer tok-123");
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers[APPLICATION], "developer_api");
        for name in [ACCESS_TOKEN, USER_EMAIL] {
            assert!(!headers.contains_key(&name), "{name}");
        }
        assert_eq!(credentials.user_email(), None);
        assert!(credentials.is_oauth());
    }

    #[tokio::test]
    async fn a_shared_token_replaced_is_sent_from_the_next_request_and_both_are_redacted() {
        let token = SharedToken::new("old-token").unwrap();
        let credentials = Credentials::oauth_source(token.clone());
        let mut first = request();
        credentials.apply(&mut first).await.unwrap();
        token.set("new-token").unwrap();
        // A token that cannot be sent is refused and the current one kept.
        assert_eq!(
            token.set("bad\ntoken"),
            Err(InvalidCredentials::AccessTokenNotAHeaderValue)
        );
        let mut second = request();
        credentials.apply(&mut second).await.unwrap();
        assert_eq!(first.headers()[AUTHORIZATION], "Bearer old-token");
        assert_eq!(second.headers()[AUTHORIZATION], "Bearer new-token");
        assert_eq!(
            credentials.redact("got old-token then new-token"),
            "got <redacted> then <redacted>"
        );
    }

    #[tokio::test]
    async fn a_failing_source_fails_the_request_with_its_reason() {
        let credentials =
            Credentials::oauth_source(|| async { Err(TokenError::new("the vault is sealed")) });
        let error = credentials.apply(&mut request()).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "no OAuth access token: the vault is sealed"
        );
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let key = Credentials::new("key-secret", "me@example.com").unwrap();
        let oauth = Credentials::oauth("oauth-secret").unwrap();
        let shared = SharedToken::new("shared-secret").unwrap();
        let token = AccessToken::new("token-secret").unwrap();
        let shown = format!("{key:?} {oauth:?} {shared:?} {token:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("me@example.com"), "{shown}");
    }

    #[test]
    fn a_token_holding_another_is_redacted_whole() {
        assert_eq!(
            redact(
                "old abc123, new abc",
                vec!["abc".to_owned(), "abc123".to_owned()]
            ),
            "old <redacted>, new <redacted>"
        );
    }

    #[tokio::test]
    async fn every_token_of_many_in_flight_is_redacted() {
        let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let source = counter.clone();
        let credentials = Credentials::oauth_source(move || {
            let n = source.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok(AccessToken::new(&format!("token-{n:03}"))?) }
        });
        for _ in 0..64 {
            credentials.apply(&mut request()).await.unwrap();
        }
        let text = credentials.redact("echoed token-000 and token-063");
        assert_eq!(text, "echoed <redacted> and <redacted>");
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_that_never_answers_fails_the_request_in_time() {
        let credentials = Credentials::oauth_source(std::future::pending);
        let error = credentials.apply(&mut request()).await.unwrap_err();
        assert!(error.to_string().contains("within 30 seconds"), "{error}");
    }

    #[test]
    fn bad_tokens_are_refused_without_being_repeated() {
        assert_eq!(
            Credentials::oauth("  ").unwrap_err(),
            InvalidCredentials::EmptyAccessToken
        );
        for bad in ["abc\u{7f}def", "\u{feff}abcdef", "abcdéf", "abc\ndef"] {
            let error = Credentials::oauth(bad).unwrap_err();
            assert_eq!(
                error,
                InvalidCredentials::AccessTokenNotAHeaderValue,
                "{bad}"
            );
            assert!(!error.to_string().contains("abc"));
            let error = Credentials::new(bad, "me@example.com").unwrap_err();
            assert_eq!(error, InvalidCredentials::TokenNotAHeaderValue, "{bad}");
        }
        assert_eq!(
            Credentials::new("key", "mé@example.com").unwrap_err(),
            InvalidCredentials::UserEmailNotAHeaderValue
        );
    }
}
