//! Magic-link delivery (API.md §10): by SMTP when a server is configured;
//! in `clickclack dev` without one, the link goes back to a caller on the
//! same machine and to the console; otherwise requests get 501.

use crate::error::StartError;
use backon::Retryable;
use clickclack_common::retry;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Attempts per message before it is given up (and logged).
const SEND_ATTEMPTS: usize = 3;
/// The wait before the first retry; the shared policy doubles it.
const FIRST_RETRY: Duration = Duration::from_millis(500);

#[derive(clap::Args, Clone, Debug)]
pub struct MailConfig {
    /// Public base URL of this deployment (`https://chat.example.com`): sign-in
    /// links point here and setup codes name it as `api_base_url`.
    #[arg(long, env = "CLICKCLACK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// SMTP server for magic links, e.g. `smtp://mail:25`,
    /// `smtp://user:pass@mail:587?tls=required` or `smtps://mail:465`.
    #[arg(long, env = "CLICKCLACK_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of magic-link mail.
    #[arg(long, env = "CLICKCLACK_MAIL_FROM", default_value = DEFAULT_FROM)]
    pub mail_from: String,
    /// Development only: without SMTP, answer magic-link requests from
    /// loopback with the link itself and print it on the console.
    #[arg(long, env = "CLICKCLACK_DEV_MAGIC_LINKS", default_value_t = false)]
    pub dev_links: bool,
}

const DEFAULT_FROM: &str = "ClickClack <clickclack@localhost>";

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            public_url: None,
            smtp_url: None,
            mail_from: DEFAULT_FROM.into(),
            dev_links: false,
        }
    }
}

impl MailConfig {
    /// The public URL without a trailing slash, when set.
    pub fn public_url(&self) -> Option<String> {
        self.public_url
            .as_deref()
            .map(|url| url.trim().trim_end_matches('/').to_owned())
            .filter(|url| !url.is_empty())
    }
}

/// How this gateway delivers magic links.
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    /// `clickclack dev` without SMTP: links go to loopback callers.
    DevConsole,
    /// Nothing configured: magic-link requests answer 501.
    Disabled,
}

impl Mailer {
    pub fn from_config(config: &MailConfig) -> Result<Mailer, StartError> {
        let Some(url) = config.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Ok(if config.dev_links {
                Mailer::DevConsole
            } else {
                Mailer::Disabled
            });
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.trim())
            // The URL may hold a password: name the variable, not its value.
            .map_err(|e| {
                StartError::Setting(format!("CLICKCLACK_SMTP_URL is not a valid SMTP URL: {e}"))
            })?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = config.mail_from.parse().map_err(|e| {
            StartError::Setting(format!(
                "CLICKCLACK_MAIL_FROM {:?} is not a mailbox: {e}",
                config.mail_from
            ))
        })?;
        Ok(Mailer::Smtp {
            transport: Box::new(transport),
            from,
        })
    }

    /// Sends the sign-in link in the background, retrying a failed attempt,
    /// so the answer (always 202) takes the same time for any address.
    pub fn send_magic_link(&self, to: &str, link: String) {
        let Mailer::Smtp { transport, from } = self else {
            return;
        };
        let message = match magic_link_message(from.clone(), to, &link) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "cannot build the magic-link message");
                return;
            }
        };
        let transport = transport.as_ref().clone();
        tokio::spawn(async move {
            let send = || transport.send(message.clone());
            let sent = send
                .retry(retry::policy(FIRST_RETRY, SEND_ATTEMPTS - 1))
                .notify(|error, wait| {
                    tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, "magic-link mail not sent");
                })
                .await;
            if let Err(error) = sent {
                tracing::warn!(%error, attempts = SEND_ATTEMPTS, "magic-link mail given up");
            }
        });
    }
}

fn magic_link_message(from: Mailbox, to: &str, link: &str) -> Result<Message, String> {
    let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject("Your ClickClack sign-in link")
        .header(ContentType::TEXT_PLAIN)
        .body(format!(
            "Sign in to ClickClack with this link (it works once, for 15 minutes):\n\n{link}\n\nIf you did not ask for it, ignore this mail.\n"
        ))
        .map_err(|e| format!("message: {e}"))
}
