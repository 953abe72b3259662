use proptest::prelude::*;

use super::*;

fn parse(header: &str) -> IncomingBaggage {
    IncomingBaggage::parse([header.as_bytes()])
}

#[test]
fn sentry_members_become_the_dsc_and_the_others_pass_as_they_came() {
    let incoming = parse(
        " vendor=a%2Cb ;prop=1, sentry-trace_id=771a43a4192642f0b136d5159a501700 ,\
         sentry-public_key=49d0f7386ad645858ae85020e393bef3, sentry-sample_rate=0.25,\
         sentry-sample_rand=0.123456,sentry-release=voice%40calls%202.0,other=%zz,\t",
    );
    assert_eq!(incoming.others, "vendor=a%2Cb ;prop=1,other=%zz");
    assert_eq!(incoming.others_count, 2);
    assert_eq!(
        incoming.dsc.get("trace_id"),
        Some("771a43a4192642f0b136d5159a501700")
    );
    assert_eq!(
        incoming.dsc.get("release"),
        Some("voice@calls 2.0"),
        "decoded"
    );
    assert_eq!(incoming.dsc.entries().len(), 5);
    let baggage = TraceBaggage::new(incoming.dsc.clone(), Some(incoming));
    assert_eq!(
        baggage.header().unwrap(),
        "sentry-trace_id=771a43a4192642f0b136d5159a501700,\
         sentry-public_key=49d0f7386ad645858ae85020e393bef3,sentry-sample_rate=0.25,\
         sentry-sample_rand=0.123456,sentry-release=voice%40calls%202.0,\
         vendor=a%2Cb ;prop=1,other=%zz",
        "the DSC's members as received, not re-encoded"
    );
    let trace = baggage.envelope_trace().unwrap();
    assert_eq!(trace["release"], "voice@calls 2.0");
    assert_eq!(trace["sample_rate"], "0.25");
}

#[test]
fn malformed_members_are_dropped_one_by_one() {
    let incoming = parse(
        "ok=1,novalue,=x,sp ace=1,a=b c,é=1,k=é,k=\"q\",sentry-x=%4,sentry-y=%FF,\
         sentry-=1,p=1;bad prop,q=2;flag;k=v,sentry-x=1,sentry-x=2",
    );
    assert_eq!(incoming.others, "ok=1,q=2;flag;k=v");
    assert_eq!(
        incoming.dsc.entries(),
        [("x".to_owned(), "1".to_owned())],
        "a bad escape drops its member; the first of a name wins"
    );
    assert_eq!(incoming.dsc.members, "sentry-x=1");
}

#[test]
fn members_beyond_the_limits_are_dropped_whole() {
    let many: Vec<String> = (0..100).map(|i| format!("m{i}=v")).collect();
    let incoming = parse(&many.join(","));
    assert_eq!(incoming.others_count, MAX_MEMBERS);
    assert_eq!(incoming.others, many[..MAX_MEMBERS].join(","));

    // 8 members of 1,000 bytes fit (8,007 bytes with separators); the 9th does not, and
    // nothing after it is kept, however small.
    let big = |i: usize| format!("b{i}={}", "x".repeat(1000 - 3));
    let members: Vec<String> = (0..9).map(big).chain(["s=1".to_owned()]).collect();
    let incoming = parse(&members.join(","));
    assert_eq!(incoming.others_count, 8);
    assert_eq!(incoming.others.len(), 8 * 1000 + 7);

    // Several headers are one list.
    let incoming = IncomingBaggage::parse(["a=1".as_bytes(), b"sentry-sampled=true, b=2"]);
    assert_eq!(incoming.others, "a=1,b=2");
    assert_eq!(incoming.dsc.get("sampled"), Some("true"));
}

#[test]
fn a_dsc_made_here_is_encoded_and_fits_in_front_of_the_others() {
    let dsc = Dsc::new(vec![
        ("trace_id", "771a43a4192642f0b136d5159a501700".to_owned()),
        ("transaction", "GET /calls/{id}, ü;x".to_owned()),
    ]);
    assert_eq!(
        dsc.members,
        "sentry-trace_id=771a43a4192642f0b136d5159a501700,\
         sentry-transaction=GET%20/calls/{id}%2C%20%C3%BC%3Bx"
    );
    let decoded = parse(&dsc.members).dsc;
    assert_eq!(decoded.entries(), dsc.entries(), "what is sent parses back");

    let full: Vec<String> = (0..MAX_MEMBERS).map(|i| format!("m{i}=v")).collect();
    let baggage = TraceBaggage::new(dsc.clone(), Some(parse(&full.join(","))));
    let header = baggage.header().unwrap();
    assert_eq!(
        header.split(',').count(),
        MAX_MEMBERS,
        "two DSC members, 62 others"
    );
    assert!(header.ends_with(",m61=v"), "{header}");
    assert_eq!(TraceBaggage::default().header(), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hostile_headers_never_panic_and_what_is_kept_is_bounded(
        chunks in prop::collection::vec(
            prop_oneof![
                "[ -~]{0,40}",
                "sentry-[a-z_]{1,12}=[%0-9A-Za-z]{0,20}",
                "[a-z]{1,8}=[\\x21-\\x7e]{0,30}(;[a-z]{1,4}(=[a-z]{0,4})?)?",
                "\\PC{0,20}",
                Just("%".to_owned()),
                Just("%zz".to_owned()),
            ],
            0..200,
        ),
        separators in prop::collection::vec(prop_oneof![Just(","), Just(" , "), Just(";"), Just(",,")], 200),
        raw_bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut header = String::new();
        for (chunk, separator) in chunks.iter().zip(&separators) {
            header.push_str(chunk);
            header.push_str(separator);
        }
        for value in [header.as_bytes(), raw_bytes.as_slice()] {
            let incoming = IncomingBaggage::parse([value, value]);
            let kept = incoming.dsc.members.len() + incoming.others.len() + 1;
            prop_assert!(kept <= MAX_BYTES + 1);
            prop_assert!(incoming.dsc.entries().len() + incoming.others_count <= MAX_MEMBERS);
            let baggage = TraceBaggage::new(incoming.dsc.clone(), Some(incoming.clone()));
            if let Some(sent) = baggage.header() {
                prop_assert!(sent.len() <= MAX_BYTES);
                prop_assert!(http::HeaderValue::from_str(&sent).is_ok(), "{sent:?}");
                // What is sent on parses back to the same members.
                let again = IncomingBaggage::parse([sent.as_bytes()]);
                prop_assert_eq!(again.dsc.entries(), incoming.dsc.entries());
                prop_assert_eq!(&again.others, &incoming.others);
            }
        }
    }
}

#[test]
fn huge_headers_cost_no_more_than_the_limits() {
    let ten_thousand: String = (0..10_000).map(|i| format!("k{i}=v{i},")).collect();
    let incoming = parse(&ten_thousand);
    assert_eq!(incoming.others_count, MAX_MEMBERS);
    let sixty_four_kib = format!("a={}", "x".repeat(64 * 1024));
    let incoming = parse(&sixty_four_kib);
    assert_eq!(
        incoming,
        IncomingBaggage::default(),
        "one member too long: dropped"
    );
    let garbage = "\u{fffd}é%%%;;==".repeat(5_000);
    let incoming = parse(&garbage);
    assert_eq!(incoming, IncomingBaggage::default());
}
