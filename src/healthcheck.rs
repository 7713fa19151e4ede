//! `mcp-commander healthcheck`: GET `/health` on the local server without curl or wget, for
//! Docker `HEALTHCHECK` and ECS `healthCheck`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Why the server is not healthy.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("bad URL {0:?}: expected http://host:port/path")]
    BadUrl(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no answer within 5s")]
    Timeout,
    #[error("unhealthy: {0}")]
    Status(String),
}

/// Splits `http://host:port/path` into (host:port, path).
fn split_url(url: &str) -> Result<(String, String), HealthError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| HealthError::BadUrl(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/health"),
    };
    if authority.is_empty() {
        return Err(HealthError::BadUrl(url.to_string()));
    }
    let authority = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.to_string()))
}

/// GETs `url` and returns the status line when it is 200.
pub async fn check(url: &str) -> Result<String, HealthError> {
    let (authority, path) = split_url(url)?;
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(&authority).await?;
        let host = authority.clone();
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: mcp-commander-healthcheck\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        s.take(64 * 1024).read_to_end(&mut buf).await?;
        Ok::<_, HealthError>(String::from_utf8_lossy(&buf).into_owned())
    };
    let text = tokio::time::timeout(Duration::from_secs(5), fut)
        .await
        .map_err(|_| HealthError::Timeout)??;
    let status = text.lines().next().unwrap_or("").to_string();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(status)
    } else {
        Err(HealthError::Status(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://127.0.0.1:3000/health").unwrap(),
            ("127.0.0.1:3000".into(), "/health".into())
        );
        assert_eq!(
            split_url("http://localhost").unwrap(),
            ("localhost:80".into(), "/health".into())
        );
        assert!(split_url("https://x").is_err());
    }
}
