//! Key pairs made at test time (nothing private is committed): RSA and EC
//! signing keys for tokens, and their public halves as a JWKS.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::EncodingKey;
use serde_json::{json, Value};

pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    /// The public key as a JWK.
    pub jwk: Value,
    /// The public key's DER, for key-confusion attempts.
    pub public_der: Vec<u8>,
}

pub fn rsa_key(kid: &str) -> SigningKey {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let private = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
    let public = pair.public_key();
    let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
    let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
    SigningKey {
        kid: kid.to_string(),
        // The RSA signer wants PKCS#1; the PEM reader unwraps PKCS#8 to it.
        encoding: EncodingKey::from_rsa_pem(pkcs8_pem(private.as_ref()).as_bytes()).unwrap(),
        jwk: json!({ "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": n, "e": e }),
        public_der: public.as_ref().to_vec(),
    }
}

fn pkcs8_pem(der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

pub fn ec_key(kid: &str) -> SigningKey {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    // Uncompressed point: 0x04 || x || y.
    let point = pair.public_key().as_ref().to_vec();
    let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
    let y = URL_SAFE_NO_PAD.encode(&point[33..65]);
    SigningKey {
        kid: kid.to_string(),
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk: json!({ "kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256", "x": x, "y": y }),
        public_der: point,
    }
}

pub fn jwks(keys: &[&SigningKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }).to_string()
}
