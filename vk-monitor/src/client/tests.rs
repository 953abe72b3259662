use super::classify::ErrorKind;
use super::handles::host_labels;

#[test]
fn hosts_beyond_the_limit_share_the_other_label() {
    let hosts = host_labels(2);
    let a = hosts.identity("a.test");
    let b = hosts.identity("b.test:8080");
    let c = hosts.identity("c.test");
    let d = hosts.identity("d.test");
    assert!(std::ptr::eq(a, hosts.identity("a.test")));
    assert!(!std::ptr::eq(a, b));
    assert!(std::ptr::eq(c, d), "both past the limit");
    assert_eq!(format!("{c:?}"), super::OTHER_HOST);
    assert_eq!(format!("{b:?}"), "b.test:8080");
    // Named hosts stay named after the limit is reached.
    assert!(std::ptr::eq(b, hosts.identity("b.test:8080")));
}

#[test]
fn error_kinds_are_read_from_the_source_chain() {
    #[derive(Debug)]
    struct Wrapper(std::io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let refused = Wrapper(std::io::ErrorKind::ConnectionRefused.into());
    assert_eq!(ErrorKind::of(&refused), ErrorKind::Connect);
    let timed_out = Wrapper(std::io::ErrorKind::TimedOut.into());
    assert_eq!(ErrorKind::of(&timed_out), ErrorKind::Timeout);
    assert_eq!(ErrorKind::of(&super::TimedOut), ErrorKind::Timeout);
    let other = Wrapper(std::io::ErrorKind::InvalidData.into());
    assert_eq!(ErrorKind::of(&other), ErrorKind::Other);
}
