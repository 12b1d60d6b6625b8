// berth_jose unit tests: encodings, keys, JWKS, JWS and JWT claim checks,
// with RFC known answers (RFC 4648, 7515 A.2/A.3, 7517 A.1/A.2, 7638) and
// every refusal the library promises.
#include "jose.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <ctime>
#include <regex>
#include <set>

namespace berth::jose {
namespace {

using json = nlohmann::json;

// ---- RFC test material ---------------------------------------------------------

// RFC 7515 Appendix A.2: the RSA key, the signing input and its RS256 signature.
const json kRfc7515RsaJwk = {
    {"kty", "RSA"},
    {"n",
     "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-"
     "pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2"
     "CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9"
     "gb54h4FRWyuXpoQ"},
    {"e", "AQAB"},
    {"d",
     "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_"
     "GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_"
     "0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_"
     "RQyGWSeWjnczT0QU91p1DhOVRuOopznQ"},
    {"p",
     "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2K"
     "KDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc"},
    {"q",
     "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_"
     "HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc"},
    {"dp",
     "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAkt"
     "V2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0"},
    {"dq",
     "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3"
     "_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU"},
    {"qi",
     "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJto"
     "OPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"},
};
const char kRfc7515Payload64[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
const char kRfc7515Rs256Sig[] =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7"
    "t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--"
    "xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_"
    "IoypGlUPQGe77Rw";
// RFC 7515 Appendix A.3: the P-256 key and an ES256 signature over the same payload.
const json kRfc7515EcJwk = {{"kty", "EC"},
                            {"crv", "P-256"},
                            {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                            {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
                            {"d", "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}};
const char kRfc7515Es256Sig[] = "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

// RFC 7517 Appendix A.1 (public keys) and A.2 (the EC private scalar).
const char kRfc7517Jwks[] = R"({"keys":[
  {"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
   "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"enc","kid":"1"},
  {"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
   "e":"AQAB","alg":"RS256","kid":"2011-04-29"}]})";
const char kRfc7517EcD[] = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE";

// libtrust key ids of two PEM keys (values from the libtrust test fixtures,
// cross-checked against an independent computation with node's crypto).
const char kLibtrustEcPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4pBqYlc5IU5pJh5AOvijtEccStyJ\n"
    "u0dSAiz4OlDGGFk5PvSlSh+wqUcSyp1ZRSP5kX7Pluof72g5MniaoFrLKg==\n"
    "-----END PUBLIC KEY-----\n";
const char kLibtrustEcKid[] = "UEV2:PPF2:4DMU:WZYF:WOWU:677P:B7XU:SGFA:BMUG:NCTC:R7CL:XFKZ";
const char kLibtrustRsaPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAwq1mCmgn460MC6MnCqra\n"
    "nQNTgmKuKPl7bNH7Qc6hBDGHlnIjU6q/h2KXF37TC5Y9tsKvQ4b8jd0Sf0dXFHml\n"
    "8qunSvNnqsSvoD8tSPUKqXS6jrlbGSQXhya7BL1RPGccD5K1xrV73QlI6uFPd3AP\n"
    "RQYij5EOB8IOWEQujJk/8Mjc0EC9zvk5TUJb59hkOUPZ3CkvSBNLNS8wpQI98FRn\n"
    "IzHjuaNicqve8054oxmDKifHWy0nnF135cXW8zkH3Zto1q89zD2g+zcVxLcRP84U\n"
    "he0nSQyg7vEYl4Wl74Eo6/89qL2yE0mEiQN245ACA5B8WFV/t3j/OD3ydOCaAOg2\n"
    "8vQtzcZ1gh2Ev4RxeR7bKq58g+R0+MMwl7nnW29mbCkcgdVVR4YPmglP7Vb6w7/N\n"
    "bqFhnxx4E3A05AeevHdMdYCrtgQwogvIhdOHLcVQxJgwy1d2Lg/mv9rovhCJ7d3X\n"
    "aNEYym6CplCHPMtfnU1LCVkA6b44pFaOVjsAQ8FviFtGXQAToRtwoszSarzslHKY\n"
    "dPoSGFOsgNJgW67iViOYqGPD97rgJA0VPm0POMNHGw/R6o+08KhDF/OI1EDckmjX\n"
    "hUggY/WCqWDxD77Ezd/wr9Zlbv/uSIEL9ifvBLq06lLcXMLrQbJrwMbDrngMZMAc\n"
    "UkTzThmtxNs4uwu45R+zfKcCAwEAAQ==\n"
    "-----END PUBLIC KEY-----\n";
const char kLibtrustRsaKid[] = "IIYO:OWAZ:MBMG:2SIK:IK2I:OP5Z:H6QR:KN6Y:QUGO:BUWN:TYW3:JXVW";

std::string Hex(std::string_view bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

// Shared generated keys (generation is the slow part).
const Key& Rsa() {
  static Key k = *GenerateRsaKey(2048);
  return k;
}
const Key& Rsa2() {
  static Key k = *GenerateRsaKey(2048);
  return k;
}
const Key& P256() {
  static Key k = *GenerateEcKey("P-256");
  return k;
}
const Key& P384() {
  static Key k = *GenerateEcKey("P-384");
  return k;
}

// PEM of any public key, written with OpenSSL directly.
std::string PubkeyPem(EVP_PKEY* pkey) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, pkey);
  char* d = nullptr;
  long n = BIO_get_mem_data(b, &d);
  std::string s(d, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// A compact token with an arbitrary header and signature bytes.
std::string Forge(const json& header, const std::string& payload, const std::string& sig) {
  return Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload) + "." + Base64UrlEncode(sig);
}

// Flips one bit of the byte at `pos` of a base64url part, keeping it valid.
std::string FlipChar(std::string s, size_t pos) {
  s[pos] = s[pos] == 'A' ? 'B' : 'A';
  return s;
}

// ---- Encodings -----------------------------------------------------------------

TEST(Base64Url, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},        {"f", "Zg"},         {"fo", "Zm8"},
                                                   {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"},
                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    EXPECT_EQ(Base64UrlEncode(plain), enc);
    auto dec = Base64UrlDecode(enc);
    ASSERT_TRUE(dec.ok()) << enc << ": " << dec.message();
    EXPECT_EQ(*dec, plain);
  }
  EXPECT_EQ(Base64UrlEncode(std::string("\xfb\xff", 2)), "-_8");
}

TEST(Base64Url, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t len = 0; len < all.size(); len += 37) {
    auto dec = Base64UrlDecode(Base64UrlEncode(all.substr(0, len)));
    ASSERT_TRUE(dec.ok());
    EXPECT_EQ(*dec, all.substr(0, len));
  }
}

TEST(Base64Url, DecodingIsStrict) {
  for (const char* bad : {"Zg==", "Zm9v=", "Zm9v+w", "Zm9v/w", "Z", "Zm9vY", "Zm 9v", "Zm9v\n", "Zh", "Zm9", "Zm8"}) {
    auto r = Base64UrlDecode(bad);
    if (std::string(bad) == "Zm8") {  // "fo" with zero trailing bits is fine
      EXPECT_TRUE(r.ok());
      continue;
    }
    EXPECT_FALSE(r.ok()) << "accepted " << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.code(), Errc::kInvalidInput);
    }
  }
  EXPECT_NE(Base64UrlDecode("Zg==").message().find("padding"), std::string::npos);
  EXPECT_NE(Base64UrlDecode("Zh").message().find("trailing bits"), std::string::npos);
}

TEST(Base32, Rfc4648VectorsWithoutPadding) {
  EXPECT_EQ(Base32Encode(""), "");
  EXPECT_EQ(Base32Encode("f"), "MY");
  EXPECT_EQ(Base32Encode("fo"), "MZXQ");
  EXPECT_EQ(Base32Encode("foo"), "MZXW6");
  EXPECT_EQ(Base32Encode("foob"), "MZXW6YQ");
  EXPECT_EQ(Base32Encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI");
}

TEST(Sha256, KnownAnswer) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// ---- Keys ---------------------------------------------------------------------------

TEST(Keys, GeneratesTheSupportedTypes) {
  EXPECT_EQ(Rsa().type(), KeyType::kRsa);
  EXPECT_EQ(Rsa().bits(), 2048);
  EXPECT_TRUE(Rsa().has_private());
  EXPECT_EQ(P256().type(), KeyType::kEc);
  EXPECT_EQ(P256().curve(), "P-256");
  EXPECT_EQ(P384().curve(), "P-384");
  EXPECT_EQ(GenerateRsaKey(1024).code(), Errc::kUnsupported);
  EXPECT_EQ(GenerateEcKey("P-521").code(), Errc::kUnsupported);
  EXPECT_EQ(GenerateEcKey("secp256k1").code(), Errc::kUnsupported);
}

TEST(Keys, PemRoundTrips) {
  for (const Key* k : {&Rsa(), &P256(), &P384()}) {
    auto priv = PrivateKeyToPem(*k);
    ASSERT_TRUE(priv.ok()) << priv.message();
    EXPECT_EQ(priv->rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
    auto back = KeyFromPem(*priv);
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_TRUE(back->has_private());
    EXPECT_EQ(*KeyToJwk(*back, true), *KeyToJwk(*k, true));

    auto pub = PublicKeyToPem(*k);
    ASSERT_TRUE(pub.ok());
    EXPECT_EQ(pub->rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
    auto pk = KeyFromPem(*pub);
    ASSERT_TRUE(pk.ok()) << pk.message();
    EXPECT_FALSE(pk->has_private());
    EXPECT_EQ(*JwkThumbprint(*pk), *JwkThumbprint(*k));
    EXPECT_EQ(PrivateKeyToPem(*pk).code(), Errc::kInvalidInput);
  }
}

TEST(Keys, PemRefusals) {
  EXPECT_EQ(KeyFromPem("not a pem").code(), Errc::kInvalidInput);
  EXPECT_EQ(KeyFromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").code(), Errc::kInvalidInput);
  EXPECT_EQ(KeyFromPem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n").code(),
            Errc::kUnsupported);
  // An Ed25519 key is valid PEM but not a key type we support.
  auto ed = Key::Adopt(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_FALSE(ed.empty());
  EXPECT_EQ(ed.type(), KeyType::kOther);
  EXPECT_EQ(KeyFromPem(PubkeyPem(ed.get())).code(), Errc::kUnsupported);
  EXPECT_EQ(LibtrustKeyId(ed).code(), Errc::kUnsupported);
  EXPECT_EQ(KeyToJwk(ed).code(), Errc::kUnsupported);
}

TEST(Keys, PublicOnlyDropsThePrivatePart) {
  auto pub = Rsa().PublicOnly();
  ASSERT_TRUE(pub.ok());
  EXPECT_FALSE(pub->has_private());
  EXPECT_EQ(*KeyToJwk(*pub), *KeyToJwk(Rsa()));
  EXPECT_EQ(SignBytes("x", *pub, Alg::kRS256).code(), Errc::kInvalidInput);
}

TEST(Jwk, RoundTripsPublicAndPrivate) {
  for (const Key* k : {&Rsa(), &P256(), &P384()}) {
    auto pub = KeyToJwk(*k);
    ASSERT_TRUE(pub.ok());
    EXPECT_FALSE(pub->contains("d"));
    auto from_pub = KeyFromJwk(*pub);
    ASSERT_TRUE(from_pub.ok()) << from_pub.message();
    EXPECT_FALSE(from_pub->has_private());
    EXPECT_EQ(*KeyToJwk(*from_pub), *pub);

    auto priv = KeyToJwk(*k, true);
    ASSERT_TRUE(priv.ok());
    EXPECT_TRUE(priv->contains("d"));
    auto from_priv = KeyFromJwkText(priv->dump());
    ASSERT_TRUE(from_priv.ok()) << from_priv.message();
    EXPECT_TRUE(from_priv->has_private());
    EXPECT_EQ(*KeyToJwk(*from_priv, true), *priv);
  }
  auto ec = *KeyToJwk(P384());
  EXPECT_EQ((*ec.find("crv")).get<std::string>(), "P-384");
  EXPECT_EQ(Base64UrlDecode(ec["x"].get<std::string>())->size(), 48u);
}

TEST(Jwk, Rfc7638Thumbprints) {
  auto jwks = Jwks::Parse(kRfc7517Jwks);
  ASSERT_TRUE(jwks.ok()) << jwks.message();
  const Jwk* rsa = jwks->Find("2011-04-29");
  ASSERT_NE(rsa, nullptr);
  EXPECT_EQ(*JwkThumbprint(rsa->key), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  auto ec = KeyFromJwk(json::parse(kRfc7517Jwks)["keys"][0]);
  ASSERT_TRUE(ec.ok()) << ec.message();
  EXPECT_EQ(*JwkThumbprint(*ec), "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s");
}

TEST(Jwk, Rfc7517PrivateEcKeyImportsAndIsChecked) {
  json jwk = json::parse(kRfc7517Jwks)["keys"][0];
  jwk["d"] = kRfc7517EcD;
  auto key = KeyFromJwk(jwk);
  ASSERT_TRUE(key.ok()) << key.message();
  EXPECT_TRUE(key->has_private());
  // A valid scalar that belongs to another point.
  jwk["d"] = kRfc7515EcJwk["d"];
  auto mismatched = KeyFromJwk(jwk);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.message().find("does not match"), std::string::npos) << mismatched.message();
}

TEST(Jwk, Refusals) {
  json ec = json::parse(kRfc7517Jwks)["keys"][0];
  json off_curve = ec;
  std::string y = *Base64UrlDecode(ec["y"].get<std::string>());
  y.back() ^= 1;
  off_curve["y"] = Base64UrlEncode(y);
  EXPECT_EQ(KeyFromJwk(off_curve).code(), Errc::kInvalidInput);

  json short_x = ec;
  short_x["x"] = Base64UrlEncode(Base64UrlDecode(ec["x"].get<std::string>())->substr(1));
  EXPECT_NE(KeyFromJwk(short_x).message().find("32 bytes"), std::string::npos);

  json p521 = ec;
  p521["crv"] = "P-521";
  EXPECT_EQ(KeyFromJwk(p521).code(), Errc::kUnsupported);
  EXPECT_EQ(KeyFromJwk(json{{"kty", "oct"}, {"k", "AAAA"}}).code(), Errc::kUnsupported);
  EXPECT_EQ(KeyFromJwk(json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}}).code(), Errc::kUnsupported);
  EXPECT_EQ(KeyFromJwk(json{{"n", "AQAB"}}).code(), Errc::kInvalidInput);
  EXPECT_EQ(KeyFromJwk(json::array()).code(), Errc::kInvalidInput);
  EXPECT_EQ(KeyFromJwkText("{not json").code(), Errc::kInvalidInput);

  json rsa = kRfc7515RsaJwk;
  rsa.erase("qi");
  EXPECT_NE(KeyFromJwk(rsa).message().find("all of p, q, dp, dq, qi"), std::string::npos);
  json rsa_pub = {{"kty", "RSA"}, {"n", kRfc7515RsaJwk["n"]}, {"e", "AQAB"}, {"p", kRfc7515RsaJwk["p"]}};
  EXPECT_EQ(KeyFromJwk(rsa_pub).code(), Errc::kInvalidInput);
  json even_e = {{"kty", "RSA"}, {"n", kRfc7515RsaJwk["n"]}, {"e", "AQAA"}};
  EXPECT_EQ(KeyFromJwk(even_e).code(), Errc::kInvalidInput);
  json padded = {{"kty", "RSA"}, {"n", kRfc7515RsaJwk["n"]}, {"e", "AQAB=="}};
  EXPECT_EQ(KeyFromJwk(padded).code(), Errc::kInvalidInput);
}

TEST(Libtrust, KnownKeyIds) {
  auto ec = KeyFromPem(kLibtrustEcPem);
  ASSERT_TRUE(ec.ok()) << ec.message();
  EXPECT_EQ(*LibtrustKeyId(*ec), kLibtrustEcKid);
  // The same fixture's JWK (libtrust's own marshalling of that key).
  EXPECT_EQ((*KeyToJwk(*ec))["x"], "4pBqYlc5IU5pJh5AOvijtEccStyJu0dSAiz4OlDGGFk");
  EXPECT_EQ((*KeyToJwk(*ec))["y"], "OT70pUofsKlHEsqdWUUj-ZF-z5bqH-9oOTJ4mqBayyo");
  auto rsa = KeyFromPem(kLibtrustRsaPem);
  ASSERT_TRUE(rsa.ok()) << rsa.message();
  EXPECT_EQ(rsa->bits(), 4096);
  EXPECT_EQ(*LibtrustKeyId(*rsa), kLibtrustRsaKid);
}

TEST(Libtrust, ConstructionStepByStep) {
  for (const Key* k : {&Rsa(), &P256()}) {
    auto kid = LibtrustKeyId(*k);
    ASSERT_TRUE(kid.ok());
    EXPECT_TRUE(std::regex_match(*kid, std::regex("^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$"))) << *kid;
    std::string b32 = Base32Encode(Sha256(*PublicKeyDer(*k)).substr(0, 30));
    ASSERT_EQ(b32.size(), 48u);
    std::string grouped;
    for (size_t i = 0; i < 48; i += 4) grouped += (i ? ":" : "") + b32.substr(i, 4);
    EXPECT_EQ(*kid, grouped);
    // Private and public halves share the id.
    EXPECT_EQ(*LibtrustKeyId(*k->PublicOnly()), *kid);
  }
  EXPECT_NE(*LibtrustKeyId(Rsa()), *LibtrustKeyId(Rsa2()));
}

// ---- JWS ------------------------------------------------------------------------------

TEST(Jws, Rfc7515A2SignsAndVerifiesExactly) {
  auto key = KeyFromJwk(kRfc7515RsaJwk);
  ASSERT_TRUE(key.ok()) << key.message();
  std::string input = std::string("eyJhbGciOiJSUzI1NiJ9.") + kRfc7515Payload64;
  // RSASSA-PKCS1-v1_5 is deterministic: the signature must be the RFC's.
  auto sig = SignBytes(input, *key, Alg::kRS256);
  ASSERT_TRUE(sig.ok()) << sig.message();
  EXPECT_EQ(Base64UrlEncode(*sig), kRfc7515Rs256Sig);
  std::string token = input + "." + kRfc7515Rs256Sig;
  auto jws = VerifyCompact(token, *key->PublicOnly());
  ASSERT_TRUE(jws.ok()) << jws.message();
  EXPECT_EQ(jws->header, json({{"alg", "RS256"}}));
  EXPECT_EQ(jws->payload, "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
  auto claims = ParseClaims(jws->payload);
  ASSERT_TRUE(claims.ok());
  ClaimChecks checks;
  checks.issuer = "joe";
  checks.now = 1300819000;
  EXPECT_TRUE(ValidateClaims(*claims, checks).ok());
  checks.now = 1300819380 + 60;
  EXPECT_EQ(ValidateClaims(*claims, checks).code(), Errc::kExpired);
}

TEST(Jws, Rfc7515A3VerifiesEs256) {
  json pub = kRfc7515EcJwk;
  pub.erase("d");
  auto key = KeyFromJwk(pub);
  ASSERT_TRUE(key.ok()) << key.message();
  std::string token = std::string("eyJhbGciOiJFUzI1NiJ9.") + kRfc7515Payload64 + "." + kRfc7515Es256Sig;
  auto jws = VerifyCompact(token, *key);
  ASSERT_TRUE(jws.ok()) << jws.message();
  EXPECT_EQ(jws->signature.size(), 64u);
  // And our own ES256 signatures with the private key verify too.
  auto priv = KeyFromJwk(kRfc7515EcJwk);
  ASSERT_TRUE(priv.ok());
  auto mine = SignCompact("hello", *priv, Alg::kES256);
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(VerifyCompact(*mine, *key).ok());
}

TEST(Jws, RoundTripsEveryAlgorithm) {
  const std::pair<Alg, const Key*> cases[] = {{Alg::kRS256, &Rsa()}, {Alg::kRS384, &Rsa()}, {Alg::kRS512, &Rsa()},
                                              {Alg::kPS256, &Rsa()}, {Alg::kES256, &P256()}, {Alg::kES384, &P384()}};
  for (const auto& [alg, key] : cases) {
    SCOPED_TRACE(AlgName(alg));
    auto token = SignCompact(R"({"sub":"x"})", *key, alg, json{{"kid", "k1"}, {"typ", "JWT"}});
    ASSERT_TRUE(token.ok()) << token.message();
    auto jws = VerifyCompact(*token, *key->PublicOnly());
    ASSERT_TRUE(jws.ok()) << jws.message();
    EXPECT_EQ(jws->header["alg"], AlgName(alg));
    EXPECT_EQ(jws->header["kid"], "k1");
    EXPECT_EQ(jws->payload, R"({"sub":"x"})");
    if (alg == Alg::kES256) {
      EXPECT_EQ(jws->signature.size(), 64u);
    }
    if (alg == Alg::kES384) {
      EXPECT_EQ(jws->signature.size(), 96u);
    }
    EXPECT_EQ(*ParseAlg(AlgName(alg)), alg);
  }
  // PSS is randomised: two signatures differ, both verify.
  auto a = SignCompact("p", Rsa(), Alg::kPS256), b = SignCompact("p", Rsa(), Alg::kPS256);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(VerifyCompact(*b, Rsa()).ok());
}

TEST(Jws, RefusesAlgNone) {
  std::string payload = R"({"sub":"admin"})";
  for (const char* none : {"none", "None", "NONE", "nOnE"}) {
    std::string token = Forge({{"alg", none}}, payload, "");
    auto r = VerifyCompact(token, Rsa());
    ASSERT_FALSE(r.ok()) << none;
    EXPECT_EQ(r.code(), Errc::kAlgRefused);
    EXPECT_NE(r.message().find("unsecured"), std::string::npos) << r.message();
    // With a (meaningless) signature attached, too.
    EXPECT_EQ(VerifyCompact(Forge({{"alg", none}}, payload, "sig"), P256()).code(), Errc::kAlgRefused);
  }
  auto jwks = Jwks::Parse(kRfc7517Jwks);
  EXPECT_EQ(VerifyCompact(Forge({{"alg", "none"}, {"kid", "2011-04-29"}}, payload, ""), *jwks).code(),
            Errc::kAlgRefused);
  EXPECT_EQ(VerifyCompact(Forge({{"typ", "JWT"}}, payload, "x"), Rsa()).code(), Errc::kInvalidInput);
  EXPECT_EQ(VerifyCompact(Forge({{"alg", 256}}, payload, "x"), Rsa()).code(), Errc::kInvalidInput);
}

TEST(Jws, RefusesTheHs256KeyConfusionAttack) {
  // The attacker MACs a token with the server's RSA *public* key as the HMAC
  // secret, hoping the verifier feeds that key to HMAC-SHA256.
  auto pub = Rsa().PublicOnly();
  std::string secret = *PublicKeyToPem(*pub);
  json header = {{"alg", "HS256"}, {"kid", "rsa"}};
  std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(R"({"sub":"admin"})");
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                      reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &mac_len),
            nullptr);
  std::string token = input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), mac_len));
  auto r = VerifyCompact(token, *pub);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kAlgRefused);
  EXPECT_NE(r.message().find("HMAC"), std::string::npos) << r.message();
  // Also when the key comes from a JWKS, and with the DER bytes as the secret.
  Jwks jwks;
  jwks.Add(Jwk{*pub, "rsa", "", "sig", {}});
  EXPECT_EQ(VerifyCompact(token, jwks).code(), Errc::kAlgRefused);
  for (const char* hs : {"HS384", "HS512"}) EXPECT_EQ(ParseAlg(hs).code(), Errc::kAlgRefused);
  // A JWKS never yields a symmetric key to verify with.
  auto oct = Jwks::Parse(R"({"keys":[{"kty":"oct","kid":"rsa","k":"c2VjcmV0"}]})");
  ASSERT_TRUE(oct.ok());
  EXPECT_TRUE(oct->keys().empty());
  EXPECT_EQ(oct->skipped().size(), 1u);
}

TEST(Jws, RefusesAnAlgThatDoesNotFitTheKey) {
  auto es = SignCompact("p", P256(), Alg::kES256);
  auto rs = SignCompact("p", Rsa(), Alg::kRS256);
  auto es384 = SignCompact("p", P384(), Alg::kES384);
  EXPECT_EQ(VerifyCompact(*es, Rsa()).code(), Errc::kAlgRefused);
  EXPECT_EQ(VerifyCompact(*rs, P256()).code(), Errc::kAlgRefused);
  EXPECT_EQ(VerifyCompact(*es384, P256()).code(), Errc::kAlgRefused);
  EXPECT_EQ(VerifyCompact(*es, P384()).code(), Errc::kAlgRefused);
  EXPECT_EQ(SignCompact("p", Rsa(), Alg::kES256).code(), Errc::kAlgRefused);
  EXPECT_EQ(SignCompact("p", P256(), Alg::kPS256).code(), Errc::kAlgRefused);
  // Header claims RS256 but the bytes are an ES256 signature over the input.
  json h = {{"alg", "RS256"}};
  std::string input = Base64UrlEncode(h.dump()) + "." + Base64UrlEncode("p");
  std::string forged = input + "." + Base64UrlEncode(*SignBytes(input, P256(), Alg::kES256));
  EXPECT_EQ(VerifyCompact(forged, P256()).code(), Errc::kAlgRefused);
  // RSA keys below 2048 bits are refused for every RSA alg.
  auto small = Key::Adopt(EVP_RSA_gen(1024));
  EXPECT_EQ(CheckAlgFitsKey(Alg::kRS256, small).code(), Errc::kAlgRefused);
  EXPECT_EQ(SignCompact("p", small, Alg::kRS256).code(), Errc::kAlgRefused);
}

TEST(Jws, RefusesAlgorithmsOutsideTheAllowedList) {
  auto rs = SignCompact("p", Rsa(), Alg::kRS256);
  VerifyOptions only_ps;
  only_ps.allowed_algs = {Alg::kPS256};
  auto r = VerifyCompact(*rs, Rsa(), only_ps);
  EXPECT_EQ(r.code(), Errc::kAlgRefused);
  EXPECT_NE(r.message().find("not allowed"), std::string::npos);
  EXPECT_EQ(ParseAlg("EdDSA").code(), Errc::kUnsupported);
  EXPECT_EQ(ParseAlg("ES512").code(), Errc::kUnsupported);
  EXPECT_EQ(VerifyCompact(Forge({{"alg", "ES512"}}, "p", "x"), P256()).code(), Errc::kUnsupported);
}

TEST(Jws, RefusesTamperingAndTheWrongKey) {
  for (const auto& [alg, key] : {std::pair<Alg, const Key*>{Alg::kRS256, &Rsa()},
                                 std::pair<Alg, const Key*>{Alg::kPS256, &Rsa()},
                                 std::pair<Alg, const Key*>{Alg::kES256, &P256()}}) {
    SCOPED_TRACE(AlgName(alg));
    std::string token = *SignCompact(R"({"sub":"alice","admin":false})", *key, alg);
    size_t d1 = token.find('.'), d2 = token.rfind('.');
    // Payload replaced by another valid payload.
    std::string other = token.substr(0, d1 + 1) + Base64UrlEncode(R"({"sub":"alice","admin":true})") +
                        token.substr(d2);
    EXPECT_EQ(VerifyCompact(other, *key).code(), Errc::kBadSignature);
    // One payload character changed.
    EXPECT_EQ(VerifyCompact(FlipChar(token, d1 + 3), *key).code(), Errc::kBadSignature);
    // One signature character changed.
    EXPECT_EQ(VerifyCompact(FlipChar(token, d2 + 5), *key).code(), Errc::kBadSignature);
    // Header changed (a kid added) but the signature kept.
    json h = {{"alg", AlgName(alg)}, {"kid", "x"}};
    std::string rehead = Base64UrlEncode(h.dump()) + token.substr(d1);
    EXPECT_EQ(VerifyCompact(rehead, *key).code(), Errc::kBadSignature);
    // Signature truncated.
    EXPECT_NE(VerifyCompact(token.substr(0, token.size() - 4), *key).code(), Errc::kAlgRefused);
    EXPECT_FALSE(VerifyCompact(token.substr(0, token.size() - 4), *key).ok());
  }
  auto rs = *SignCompact("p", Rsa(), Alg::kRS256);
  EXPECT_EQ(VerifyCompact(rs, Rsa2()).code(), Errc::kBadSignature);
  auto es = *SignCompact("p", P256(), Alg::kES256);
  EXPECT_EQ(VerifyCompact(es, *GenerateEcKey("P-256")).code(), Errc::kBadSignature);
}

TEST(Jws, EcdsaSignaturesMustBeRawFixedWidth) {
  json h = {{"alg", "ES256"}};
  std::string input = Base64UrlEncode(h.dump()) + "." + Base64UrlEncode("p");
  std::string raw = *SignBytes(input, P256(), Alg::kES256);
  ASSERT_EQ(raw.size(), 64u);
  EXPECT_TRUE(VerifyBytes(input, raw, P256(), Alg::kES256).ok());
  // The DER form OpenSSL produces natively is not a JWS signature.
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, P256().get()), 1);
  unsigned char der[128];
  size_t der_len = sizeof der;
  ASSERT_EQ(EVP_DigestSign(md, der, &der_len, reinterpret_cast<const unsigned char*>(input.data()), input.size()), 1);
  EVP_MD_CTX_free(md);
  auto r = VerifyBytes(input, std::string(reinterpret_cast<char*>(der), der_len), P256(), Alg::kES256);
  EXPECT_EQ(r.code(), Errc::kBadSignature);
  EXPECT_NE(r.message().find("64 bytes"), std::string::npos) << r.message();
  // r = 0, s = 0 never verifies.
  EXPECT_EQ(VerifyBytes(input, std::string(64, '\0'), P256(), Alg::kES256).code(), Errc::kBadSignature);
}

TEST(Jws, CriticalHeaders) {
  auto sign = [](const json& h) { return *SignCompact("p", P256(), Alg::kES256, h); };
  std::string unknown = sign({{"crit", {"exp"}}, {"exp", 1}});
  auto r = VerifyCompact(unknown, P256());
  EXPECT_EQ(r.code(), Errc::kUnsupported);
  EXPECT_NE(r.message().find("\"exp\" is not understood"), std::string::npos) << r.message();
  VerifyOptions knows_exp;
  knows_exp.understood_crit = {"exp"};
  EXPECT_TRUE(VerifyCompact(unknown, P256(), knows_exp).ok());
  EXPECT_EQ(VerifyCompact(sign({{"crit", {"b64"}}, {"b64", false}}), P256()).code(), Errc::kUnsupported);
  EXPECT_EQ(VerifyCompact(sign({{"crit", {"exp"}}}), P256(), knows_exp).code(), Errc::kInvalidInput);
  EXPECT_EQ(VerifyCompact(sign({{"crit", json::array()}}), P256()).code(), Errc::kInvalidInput);
  EXPECT_EQ(VerifyCompact(sign({{"crit", "exp"}}), P256()).code(), Errc::kInvalidInput);
  EXPECT_EQ(VerifyCompact(sign({{"crit", {"alg"}}}), P256()).code(), Errc::kInvalidInput);
  EXPECT_EQ(VerifyCompact(sign({{"crit", {"exp", "exp"}}, {"exp", 1}}), P256(), knows_exp).code(),
            Errc::kInvalidInput);
}

TEST(Jws, MalformedTokens) {
  std::string good = *SignCompact("p", P256(), Alg::kES256);
  for (const std::string& bad : {std::string(""), std::string("a.b"), good + ".x", std::string("..."),
                                 std::string("!!.e30.AAAA"), "e30.!!." + good.substr(good.rfind('.') + 1),
                                 Base64UrlEncode("[1]") + ".e30.AAAA", Base64UrlEncode("nope") + ".e30.AAAA",
                                 good.substr(0, good.rfind('.') + 1) + "AAAA=", std::string("e30.e30.e30")}) {
    auto r = VerifyCompact(bad, P256());
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_EQ(DecodeCompact("a.b").code(), Errc::kInvalidInput);
  EXPECT_EQ(DecodeCompact(std::string(kMaxCompactBytes + 1, 'A')).code(), Errc::kInvalidInput);
  auto d = DecodeCompact(good);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->payload, "p");
}

// ---- JWKS ----------------------------------------------------------------------------

TEST(JwksTest, ParsesRfc7517AndSkipsWhatItCannotUse) {
  auto jwks = Jwks::Parse(kRfc7517Jwks);
  ASSERT_TRUE(jwks.ok()) << jwks.message();
  ASSERT_EQ(jwks->keys().size(), 1u);  // the EC key is an encryption key
  ASSERT_EQ(jwks->skipped().size(), 1u);
  EXPECT_NE(jwks->skipped()[0].find("kid 1"), std::string::npos) << jwks->skipped()[0];
  const Jwk* k = jwks->Find("2011-04-29");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->alg, "RS256");
  EXPECT_EQ(k->key.type(), KeyType::kRsa);
  EXPECT_EQ(jwks->Find("1"), nullptr);
  auto mixed = Jwks::Parse(R"({"keys":[{"kty":"oct","k":"AAAA"},{"kty":"OKP","crv":"Ed25519","x":"AAAA"},
    {"kty":"EC","crv":"P-521","x":"AA","y":"AA"},{"kty":"RSA"},"junk"]})");
  ASSERT_TRUE(mixed.ok());
  EXPECT_TRUE(mixed->keys().empty());
  EXPECT_EQ(mixed->skipped().size(), 5u);
  EXPECT_EQ(Jwks::Parse("nope").code(), Errc::kInvalidInput);
  EXPECT_EQ(Jwks::Parse("{}").code(), Errc::kInvalidInput);
  EXPECT_EQ(Jwks::Parse(R"({"keys":{}})").code(), Errc::kInvalidInput);
}

TEST(JwksTest, SelectsByKidAndAlg) {
  Jwks jwks;
  jwks.Add(Jwk{*Rsa().PublicOnly(), "rsa", "RS256", "sig", {}});
  jwks.Add(Jwk{*P256().PublicOnly(), "ec", "", "", {"verify"}});
  jwks.Add(Jwk{*Rsa2().PublicOnly(), "enc", "", "enc", {}});
  EXPECT_EQ((*jwks.Select("rsa", Alg::kRS256))->kid, "rsa");
  EXPECT_EQ((*jwks.Select("ec", Alg::kES256))->kid, "ec");
  EXPECT_EQ(jwks.Select("nope", Alg::kRS256).code(), Errc::kKeyNotFound);
  auto restricted = jwks.Select("rsa", Alg::kPS256);  // the JWK says RS256 only
  EXPECT_EQ(restricted.code(), Errc::kAlgRefused);
  EXPECT_NE(restricted.message().find("restricted to RS256"), std::string::npos);
  EXPECT_EQ(jwks.Select("ec", Alg::kRS256).code(), Errc::kAlgRefused);
  EXPECT_EQ(jwks.Select("enc", Alg::kRS256).code(), Errc::kAlgRefused);
  // Without a kid, only an unambiguous key is chosen.
  EXPECT_EQ((*jwks.Select("", Alg::kES256))->kid, "ec");
  EXPECT_EQ((*jwks.Select("", Alg::kRS256))->kid, "rsa");
  jwks.Add(Jwk{*Rsa2().PublicOnly(), "rsa2", "", "sig", {}});
  EXPECT_EQ((*jwks.Select("", Alg::kRS512))->kid, "rsa2");  // "rsa" is restricted to RS256
  auto ambiguous = jwks.Select("", Alg::kRS256);
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.code(), Errc::kKeyNotFound);

  // VerifyCompact through the set, and its JSON round trip.
  auto token = SignCompact("p", Rsa(), Alg::kRS256, json{{"kid", "rsa"}});
  EXPECT_TRUE(VerifyCompact(*token, jwks).ok());
  auto wrong_kid = SignCompact("p", Rsa(), Alg::kRS256, json{{"kid", "rsa2"}});
  EXPECT_EQ(VerifyCompact(*wrong_kid, jwks).code(), Errc::kBadSignature);
  auto unknown = SignCompact("p", Rsa(), Alg::kRS256, json{{"kid", "gone"}});
  EXPECT_EQ(VerifyCompact(*unknown, jwks).code(), Errc::kKeyNotFound);
  auto j = jwks.ToJson();
  ASSERT_TRUE(j.ok());
  auto back = Jwks::FromJson(*j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->keys().size(), 3u);  // the "enc" key is skipped on the way back
  EXPECT_TRUE(VerifyCompact(*token, *back).ok());
  for (const auto& k : (*j)["keys"]) EXPECT_FALSE(k.contains("d"));
}

// ---- JWT claims ---------------------------------------------------------------------

class Claims : public ::testing::Test {
 protected:
  int64_t now_ = Now();
  json claims_ = {{"iss", "https://idp.example"}, {"aud", "berth"}, {"sub", "u1"},
                  {"exp", now_ + 300},          {"iat", now_},      {"nbf", now_ - 10}};
  ClaimChecks checks_ = [this] {
    ClaimChecks c;
    c.issuer = "https://idp.example";
    c.audience = "berth";
    c.now = now_;
    c.require_iat = true;
    c.required = {"sub"};
    return c;
  }();
};

TEST_F(Claims, AcceptsValidClaims) { EXPECT_TRUE(ValidateClaims(claims_, checks_).ok()); }

TEST_F(Claims, Expiry) {
  claims_["exp"] = now_ - 120;
  auto r = ValidateClaims(claims_, checks_);
  EXPECT_EQ(r.code(), Errc::kExpired);
  claims_["exp"] = now_ - 30;  // within the 60 s leeway
  EXPECT_TRUE(ValidateClaims(claims_, checks_).ok());
  checks_.leeway = 0;
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kExpired);
  claims_["exp"] = now_;  // exp is exclusive
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kExpired);
  claims_["exp"] = static_cast<double>(now_) + 0.5;
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kExpired);
  claims_.erase("exp");
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kMissingClaim);
  checks_.require_exp = false;
  EXPECT_TRUE(ValidateClaims(claims_, checks_).ok());
  claims_["exp"] = "tomorrow";
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kInvalidClaim);
}

TEST_F(Claims, NotBeforeAndIssuedAt) {
  claims_["nbf"] = now_ + 600;
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kNotYetValid);
  claims_["nbf"] = now_ + 30;
  EXPECT_TRUE(ValidateClaims(claims_, checks_).ok());
  claims_["iat"] = now_ + 600;
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kIssuedInFuture);
  claims_.erase("iat");
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kMissingClaim);
  claims_["iat"] = json::array();
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kInvalidClaim);
}

TEST_F(Claims, IssuerMustMatchExactly) {
  for (const char* iss : {"https://idp.example/", "https://IDP.example", "https://evil.example", ""}) {
    claims_["iss"] = iss;
    EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kClaimMismatch) << iss;
  }
  claims_["iss"] = 7;
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kInvalidClaim);
  claims_.erase("iss");
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kMissingClaim);
}

TEST_F(Claims, AudienceStringOrArray) {
  claims_["aud"] = json::array({"other", "berth"});
  EXPECT_TRUE(ValidateClaims(claims_, checks_).ok());
  EXPECT_EQ(*Audiences(claims_), (std::vector<std::string>{"other", "berth"}));
  claims_["aud"] = json::array({"other"});
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kClaimMismatch);
  claims_["aud"] = "berthd";
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kClaimMismatch);
  claims_["aud"] = json::array({"berth", 5});
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kInvalidClaim);
  claims_.erase("aud");
  EXPECT_EQ(ValidateClaims(claims_, checks_).code(), Errc::kMissingClaim);
}

TEST_F(Claims, RequiredClaims) {
  claims_.erase("sub");
  auto r = ValidateClaims(claims_, checks_);
  EXPECT_EQ(r.code(), Errc::kMissingClaim);
  EXPECT_NE(r.message().find("\"sub\""), std::string::npos);
  EXPECT_EQ(ValidateClaims(json::array(), checks_).code(), Errc::kInvalidInput);
  EXPECT_EQ(ParseClaims("[1]").code(), Errc::kInvalidInput);
}

TEST_F(Claims, VerifyJwtChecksSignatureThenClaims) {
  Jwks jwks;
  jwks.Add(Jwk{*P256().PublicOnly(), "ec", "ES256", "sig", {}});
  auto token = SignCompact(claims_.dump(), P256(), Alg::kES256, json{{"kid", "ec"}});
  auto ok = VerifyJwt(*token, jwks, checks_);
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ((*ok)["sub"], "u1");
  claims_["exp"] = now_ - 3600;
  auto expired = SignCompact(claims_.dump(), P256(), Alg::kES256, json{{"kid", "ec"}});
  EXPECT_EQ(VerifyJwt(*expired, jwks, checks_).code(), Errc::kExpired);
  EXPECT_EQ(VerifyJwt(*expired, Rsa(), checks_).code(), Errc::kAlgRefused);
  auto not_json = SignCompact("not json", P256(), Alg::kES256);
  EXPECT_EQ(VerifyJwt(*not_json, P256(), checks_).code(), Errc::kInvalidInput);
}

TEST(ErrcNames, AreDistinct) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(Errc::kInternal); ++i) names.insert(ErrcName(static_cast<Errc>(i)));
  EXPECT_EQ(names.size(), static_cast<size_t>(Errc::kInternal) + 1);
}

}  // namespace
}  // namespace berth::jose
