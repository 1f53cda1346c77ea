//! The chain: order, fall-through, timeouts, and attempts reported on success and failure.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kheaders::fetch::FetchError;
use kheaders::source::Context;
use kheaders::vocab::{Expected, PackageFormat, PackageSet, SourceKind};
use kheaders::{
    Error, ErrorKind, HeaderSource, KernelIdentity, Outcome, PackageRef, Resolver, SourceError,
    SourceId,
};

/// A scripted source.
#[derive(Debug)]
struct Scripted {
    id: SourceId,
    answer: Answer,
}

#[derive(Debug, Clone)]
enum Answer {
    NotHere,
    Broken(u16),
    Corrupt,
    Slow,
    Found(String),
}

#[async_trait]
impl HeaderSource for Scripted {
    fn id(&self) -> &SourceId {
        &self.id
    }
    fn kind(&self) -> SourceKind {
        SourceKind::UrlTemplate
    }
    fn urls(&self) -> Vec<String> {
        vec![]
    }
    async fn locate(
        &self,
        _cx: &Context,
        id: &KernelIdentity,
    ) -> Result<Option<PackageSet>, SourceError> {
        match &self.answer {
            Answer::NotHere => Ok(None),
            Answer::Broken(status) => Err(FetchError::Status {
                url: "http://127.0.0.1:1/x".into(),
                status: *status,
            }
            .into()),
            Answer::Corrupt => Err(SourceError::Integrity {
                url: "http://127.0.0.1:1/InRelease".into(),
                detail: "bad signature".into(),
            }),
            Answer::Slow => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(None)
            }
            Answer::Found(url) => Ok(Some(PackageSet {
                packages: vec![PackageRef {
                    name: id.header_packages()[0].name.clone(),
                    version: "6.8.9-300.fc40".into(),
                    arch: "x86_64".into(),
                    format: PackageFormat::Rpm,
                    urls: vec![url.clone()],
                    expected: Expected {
                        size: Some(3),
                        checksums: vec![],
                        check_package_header: false,
                    },
                }],
                ..Default::default()
            })),
        }
    }
}

fn resolver(answers: &[(&str, Answer)]) -> Resolver {
    let mut b = Resolver::builder()
        .no_default_sources(true)
        .source_timeout(Duration::from_millis(300))
        .cache_dir(tempfile::tempdir().unwrap().keep());
    for (name, a) in answers {
        b = b.add_source(Arc::new(Scripted {
            id: SourceId::new(SourceKind::UrlTemplate, name),
            answer: a.clone(),
        }));
    }
    b.build().unwrap()
}

fn fedora() -> KernelIdentity {
    KernelIdentity::new("6.8.9-300.fc40.x86_64", "x86_64", "fedora", "40").unwrap()
}

#[tokio::test]
async fn faults_fall_through_and_every_attempt_is_kept_on_success() {
    let r = resolver(&[
        ("missing", Answer::NotHere),
        ("down", Answer::Broken(503)),
        ("slow", Answer::Slow),
        ("tampered", Answer::Corrupt),
        ("good", Answer::Found("http://127.0.0.1:1/k.rpm".into())),
        (
            "never-asked",
            Answer::Found("http://127.0.0.1:1/other.rpm".into()),
        ),
    ]);
    let res = r.locate(&fedora()).await.unwrap();
    assert_eq!(res.source.as_deref(), Some("url-template:good"));
    let outcomes: Vec<(String, Outcome)> = res
        .attempts
        .iter()
        .map(|a| (a.source.clone(), a.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("url-template:missing".to_string(), Outcome::NotFound),
            ("url-template:down".to_string(), Outcome::Failed),
            ("url-template:slow".to_string(), Outcome::TimedOut),
            ("url-template:tampered".to_string(), Outcome::Failed),
            ("url-template:good".to_string(), Outcome::Found),
        ]
    );
    assert_eq!(res.attempts[1].error_kind, Some(ErrorKind::Transient));
    assert_eq!(res.attempts[3].error_kind, Some(ErrorKind::Integrity));
    assert!(res.attempts[1].detail.contains("503"));
    assert!(res.attempts[2].elapsed_ms >= 300);
}

#[tokio::test]
async fn integrity_failure_outranks_not_found_when_nothing_succeeds() {
    let r = resolver(&[
        ("missing", Answer::NotHere),
        ("tampered", Answer::Corrupt),
        ("down", Answer::Broken(500)),
    ]);
    let e = r.locate(&fedora()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert_eq!(e.resolution().unwrap().attempts.len(), 3);
}

#[tokio::test]
async fn transient_failures_are_not_reported_as_not_found() {
    let r = resolver(&[("missing", Answer::NotHere), ("down", Answer::Broken(503))]);
    let e = r.locate(&fedora()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert!(matches!(e, Error::SourcesFailed { .. }));
    let r = resolver(&[
        ("missing", Answer::NotHere),
        ("also-missing", Answer::NotHere),
    ]);
    let e = r.locate(&fedora()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.kind().exit_code(), 3);
}
