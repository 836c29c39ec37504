//! Slot keys: the seed's getSlotQueueKey, and the shared vectors.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use slotq::{Call, Key};

#[test]
fn empty_call_key() {
    let key = Call::new().key().unwrap();
    assert_eq!(key.to_string(), "bb7a95e878c088a5ae0cb80872a702214a890908");
    assert_eq!(key.to_hex(), format!("{key}"));
    assert_eq!(
        "bb7a95e878c088a5ae0cb80872a702214a890908"
            .parse::<Key>()
            .unwrap(),
        key
    );
    assert!("bb7a".parse::<Key>().is_err());
    assert!("zz7a95e878c088a5ae0cb80872a702214a890908"
        .parse::<Key>()
        .is_err());
}

#[test]
fn config_as_pairs_or_map_in_any_order() {
    let base = Call::new()
        .app_name("a")
        .path("/p")
        .image("img")
        .format("http")
        .timeout(30)
        .idle_timeout(30)
        .memory(128);
    let pairs = base
        .clone()
        .config("B", "2")
        .config("A", "1")
        .config("", "empty-key");
    let mut hm = HashMap::new();
    hm.insert("A", "1");
    hm.insert("", "empty-key");
    hm.insert("B", "2");
    let from_map = base.clone().configs(hm);
    let bt: BTreeMap<Vec<u8>, Vec<u8>> = [
        (b"B".to_vec(), b"2".to_vec()),
        (b"A".to_vec(), b"1".to_vec()),
        (vec![], b"empty-key".to_vec()),
    ]
    .into();
    let from_btree = base.clone().configs(bt);
    let from_vec = base
        .clone()
        .configs(vec![("", "x"), ("A", "1"), ("B", "2"), ("", "empty-key")]);
    let k = pairs.key().unwrap();
    for c in [&from_map, &from_btree, &from_vec] {
        assert_eq!(c.key().unwrap(), k);
    }
    assert_ne!(base.key().unwrap(), k);
    assert_eq!(pairs.get_config().len(), 3);
    assert_eq!(
        base.key().unwrap().to_string(),
        "312c292e615ca1a2ded5379d8defdcb597e3bdc3"
    );
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        return vec![];
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn vectors_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SLOTQ_KEY_VECTORS") {
        return p.into();
    }
    // bindings/rust -> the project's root -> ../shared
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/slot_keys.txt")
}

#[test]
fn shared_key_vectors() {
    let path = vectors_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            println!(
                "SKIP shared_key_vectors: {} not readable ({e}); set SLOTQ_KEY_VECTORS",
                path.display()
            );
            return;
        }
    };
    let mut n = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let nconfig: usize = f[7].parse().unwrap();
        assert_eq!(f.len(), 8 + 2 * nconfig + 1, "line {}", i + 1);
        let mut call = Call::new()
            .app_name(unhex(f[0]))
            .path(unhex(f[1]))
            .image(unhex(f[2]))
            .timeout(f[3].parse().unwrap())
            .idle_timeout(f[4].parse().unwrap())
            .memory(f[5].parse().unwrap())
            .format(unhex(f[6]));
        for j in 0..nconfig {
            call = call.config(unhex(f[8 + 2 * j]), unhex(f[9 + 2 * j]));
        }
        assert_eq!(
            call.get_config().len(),
            nconfig,
            "line {}: duplicate keys",
            i + 1
        );
        let want = f[8 + 2 * nconfig];
        assert_eq!(
            call.key().unwrap().to_string(),
            want,
            "line {}: {line}",
            i + 1
        );
        n += 1;
    }
    assert!(n > 0, "{} holds no vectors", path.display());
    println!("{n} key vectors of {} match", path.display());
}
