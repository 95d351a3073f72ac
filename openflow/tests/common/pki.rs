//! A small lab PKI made with rcgen for the TLS tests: a CA, the controller's certificate (for 127.0.0.1), a
//! switch certificate the CA signed, and a stranger's self-signed one, all as PEM files in a temporary
//! directory.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// PEM files of one identity.
pub struct Identity {
    /// Certificate.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// The files; removed when dropped.
pub struct Pki {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The controller (TLS server).
    pub controller: Identity,
    /// A switch the CA vouches for.
    pub switch: Identity,
    /// A client nobody vouches for (self-signed).
    pub stranger: Identity,
    _dir: tempfile::TempDir,
}

fn leaf(name: &str, sans: Vec<String>, usage: ExtendedKeyUsagePurpose) -> (CertificateParams, KeyPair) {
    let mut params = CertificateParams::new(sans).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    (params, KeyPair::generate().expect("key"))
}

fn save(dir: &std::path::Path, name: &str, cert: &Certificate, key: &KeyPair) -> Identity {
    let id = Identity {
        cert: dir.join(format!("{name}-cert.pem")),
        key: dir.join(format!("{name}-privkey.pem")),
    };
    std::fs::write(&id.cert, cert.pem()).expect("write cert");
    std::fs::write(&id.key, key.serialize_pem()).expect("write key");
    id
}

impl Pki {
    /// Makes the CA and the three identities.
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Twister OpenFlow test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().expect("key");
        let ca = ca_params.self_signed(&ca_key).expect("CA");
        let ca_path = dir.path().join("cacert.pem");
        std::fs::write(&ca_path, ca.pem()).expect("write CA");

        let (p, k) = leaf(
            "twister-openflow-controller",
            vec!["127.0.0.1".into(), "localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let controller = save(
            dir.path(),
            "ctl",
            &p.signed_by(&k, &ca, &ca_key).expect("sign"),
            &k,
        );
        let (p, k) = leaf("test-switch", vec![], ExtendedKeyUsagePurpose::ClientAuth);
        let switch = save(
            dir.path(),
            "sc",
            &p.signed_by(&k, &ca, &ca_key).expect("sign"),
            &k,
        );
        let (p, k) = leaf("stranger", vec![], ExtendedKeyUsagePurpose::ClientAuth);
        let stranger = save(dir.path(), "stranger", &p.self_signed(&k).expect("self-sign"), &k);
        Pki {
            ca: ca_path,
            controller,
            switch,
            stranger,
            _dir: dir,
        }
    }
}
