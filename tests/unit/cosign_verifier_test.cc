// CosignVerifier and PublicKey: cosign key-based signatures made here with
// OpenSSL (ECDSA P-256 over SHA-256, DER; Ed25519 over the payload), checked
// against trusted keys, for the right digest, and refused when tampered,
// signed by another key, for another image or malformed.
#include "signing/cosign_verifier.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/digest.h"
#include "signing/public_key.h"

namespace berth {
namespace {

using nlohmann::json;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

PkeyPtr NewEc() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }
PkeyPtr NewEd25519() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")); }

std::string PublicPem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, k);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

std::string PrivatePem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

// What cosign signs: ECDSA with SHA-256 (DER), Ed25519 over the bytes.
std::string Sign(EVP_PKEY* k, const std::string& msg) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* md = EVP_PKEY_is_a(k, "ED25519") ? nullptr : EVP_sha256();
  EXPECT_EQ(EVP_DigestSignInit(ctx, nullptr, md, nullptr, k), 1);
  size_t n = 0;
  EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &n, reinterpret_cast<const unsigned char*>(msg.data()),
                           msg.size()), 1);
  std::string sig(n, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &n,
                           reinterpret_cast<const unsigned char*>(msg.data()), msg.size()), 1);
  sig.resize(n);
  EVP_MD_CTX_free(ctx);
  return sig;
}

PublicKey Trusted(EVP_PKEY* k) {
  auto pk = PublicKey::FromPem(PublicPem(k));
  EXPECT_TRUE(pk.ok()) << pk.status().ToString();
  return *pk;
}

const std::string kSubject = Digest::Of(DigestAlgorithm::kSha256, "the image").ToString();

std::string Payload(const std::string& digest) {
  return json{{"critical",
               {{"identity", {{"docker-reference", "reg.example/p/app"}}},
                {"image", {{"docker-manifest-digest", digest}}},
                {"type", "cosign container image signature"}}},
              {"optional", nullptr}}
      .dump();
}

class CosignVerifierTest : public ::testing::Test {
 protected:
  // A signature manifest with one simplesigning layer; the payload is stored
  // under `stored` (the signed bytes unless a test tampers with them).
  SignatureManifest Manifest(const std::string& payload, const std::string& sig_b64,
                             const std::string* stored = nullptr) {
    std::string digest = Digest::Of(DigestAlgorithm::kSha256, payload).ToString();
    blobs_[digest] = stored ? *stored : payload;
    json m = {{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                          {"digest", Digest::Of(DigestAlgorithm::kSha256, "{}").ToString()},
                          {"size", 2}}},
              {"layers", json::array({{{"mediaType", kCosignSimpleSigningType},
                                       {"digest", digest},
                                       {"size", payload.size()},
                                       {"annotations", {{kCosignSignatureAnnotation, sig_b64}}}}})}};
    std::string body = m.dump();
    return {Digest::Of(DigestAlgorithm::kSha256, body).ToString(), body};
  }

  CosignVerification Verify(const std::vector<SignatureManifest>& sigs,
                            const std::vector<PublicKey>& keys) {
    BlobReader read = [this](const std::string& d, int64_t) -> StatusOr<std::string> {
      auto it = blobs_.find(d);
      if (it == blobs_.end()) return Status::NotFound("no blob " + d);
      return it->second;
    };
    auto v = VerifyCosignSignatures(kSubject, sigs, keys, read);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return *v;
  }

  std::map<std::string, std::string> blobs_;
};

TEST_F(CosignVerifierTest, GoodEcdsaSignatureVerifies) {
  auto key = NewEc();
  std::string p = Payload(kSubject);
  auto v = Verify({Manifest(p, Base64Encode(Sign(key.get(), p)))}, {Trusted(key.get())});
  EXPECT_EQ(v.verdict, CosignVerdict::kVerified) << v.detail;
  EXPECT_EQ(v.detail, Trusted(key.get()).fingerprint());
}

TEST_F(CosignVerifierTest, GoodEd25519SignatureVerifies) {
  auto key = NewEd25519();
  std::string p = Payload(kSubject);
  auto v = Verify({Manifest(p, Base64Encode(Sign(key.get(), p)))}, {Trusted(key.get())});
  EXPECT_EQ(v.verdict, CosignVerdict::kVerified) << v.detail;
}

TEST_F(CosignVerifierTest, AnyTrustedKeyWillDo) {
  auto a = NewEc(), b = NewEd25519();
  std::string p = Payload(kSubject);
  auto v = Verify({Manifest(p, Base64Encode(Sign(b.get(), p)))},
                  {Trusted(a.get()), Trusted(b.get())});
  EXPECT_EQ(v.verdict, CosignVerdict::kVerified);
}

TEST_F(CosignVerifierTest, WrongKeyIsUntrusted) {
  auto signer = NewEc(), trusted = NewEc();
  std::string p = Payload(kSubject);
  auto v = Verify({Manifest(p, Base64Encode(Sign(signer.get(), p)))}, {Trusted(trusted.get())});
  EXPECT_EQ(v.verdict, CosignVerdict::kUntrustedKey);
  EXPECT_EQ(CosignRefusalMessage(v),
            "The image's cosign signature is not valid for any trusted key of the project.");
}

TEST_F(CosignVerifierTest, TamperedPayloadFails) {
  auto key = NewEc();
  std::string p = Payload(kSubject);
  std::string sig = Base64Encode(Sign(key.get(), p));
  // The payload changed after signing (pushed under its own digest).
  std::string changed = p;
  changed.replace(changed.find("reg.example"), 3, "evil");
  auto v = Verify({Manifest(changed, sig)}, {Trusted(key.get())});
  EXPECT_EQ(v.verdict, CosignVerdict::kUntrustedKey);
  // Bytes stored under the signed payload's digest that are not it.
  auto w = Verify({Manifest(p, sig, &changed)}, {Trusted(key.get())});
  EXPECT_EQ(w.verdict, CosignVerdict::kMalformed);
  EXPECT_NE(w.detail.find("does not match its digest"), std::string::npos) << w.detail;
}

TEST_F(CosignVerifierTest, SignatureForAnotherDigestIsRefused) {
  auto key = NewEc();
  std::string other = Digest::Of(DigestAlgorithm::kSha256, "another image").ToString();
  std::string p = Payload(other);
  auto v = Verify({Manifest(p, Base64Encode(Sign(key.get(), p)))}, {Trusted(key.get())});
  EXPECT_EQ(v.verdict, CosignVerdict::kOtherDigest);
  EXPECT_EQ(CosignRefusalMessage(v),
            "The image's cosign signature is for another image: the signed payload names " +
                other + ".");
}

TEST_F(CosignVerifierTest, BadBase64IsMalformed) {
  auto key = NewEc();
  std::string p = Payload(kSubject);
  auto v = Verify({Manifest(p, "not base64 at all!")}, {Trusted(key.get())});
  EXPECT_EQ(v.verdict, CosignVerdict::kMalformed);
  EXPECT_EQ(CosignRefusalMessage(v),
            "The image's cosign signature is malformed: the signature is not base64.");
}

TEST_F(CosignVerifierTest, MissingPayloadBlobIsMalformed) {
  auto key = NewEc();
  std::string p = Payload(kSubject);
  SignatureManifest m = Manifest(p, Base64Encode(Sign(key.get(), p)));
  blobs_.clear();
  EXPECT_EQ(Verify({m}, {Trusted(key.get())}).verdict, CosignVerdict::kMalformed);
}

TEST_F(CosignVerifierTest, OneGoodSignatureAmongBadOnesIsEnough) {
  auto key = NewEc(), stranger = NewEc();
  std::string p = Payload(kSubject);
  auto v = Verify({Manifest(p, "%%%"), Manifest(p, Base64Encode(Sign(stranger.get(), p))),
                   Manifest(p, Base64Encode(Sign(key.get(), p)))},
                  {Trusted(key.get())});
  EXPECT_EQ(v.verdict, CosignVerdict::kVerified);
}

TEST_F(CosignVerifierTest, MostTellingFailureIsReported) {
  auto key = NewEc(), stranger = NewEc();
  std::string other = Digest::Of(DigestAlgorithm::kSha256, "x").ToString();
  std::string p = Payload(kSubject), q = Payload(other);
  auto v = Verify({Manifest(p, "%%%"), Manifest(q, Base64Encode(Sign(key.get(), q))),
                   Manifest(p, Base64Encode(Sign(stranger.get(), p)))},
                  {Trusted(key.get())});
  EXPECT_EQ(v.verdict, CosignVerdict::kOtherDigest);
}

TEST(PublicKeyTest, ParsesEcdsaAndEd25519) {
  auto ec = NewEc();
  auto k = PublicKey::FromPem(PublicPem(ec.get()));
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->algorithm(), "ecdsa-p256");
  EXPECT_EQ(k->fingerprint().rfind("sha256:", 0), 0u);
  EXPECT_EQ(k->fingerprint().size(), 7u + 64u);
  EXPECT_EQ(k->pem(), PublicPem(ec.get()));
  auto ed = NewEd25519();
  auto e = PublicKey::FromPem(PublicPem(ed.get()));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->algorithm(), "ed25519");
  EXPECT_NE(e->fingerprint(), k->fingerprint());
}

TEST(PublicKeyTest, RefusesWhatIsNotAnAcceptedPublicKey) {
  auto expect_bad = [](const std::string& pem) {
    auto k = PublicKey::FromPem(pem);
    ASSERT_FALSE(k.ok());
    EXPECT_EQ(k.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(k.status().api_code(), "BAD_REQUEST");
  };
  expect_bad("");
  expect_bad("garbage");
  expect_bad("-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n");
  auto ec = NewEc();
  expect_bad(PrivatePem(ec.get()));  // a private key is not what the project should store
  PkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  expect_bad(PublicPem(p384.get()));
  PkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  expect_bad(PublicPem(rsa.get()));
}

TEST(PublicKeyTest, VerifyRejectsEmptyAndForeignSignatures) {
  auto ec = NewEc();
  PublicKey k = Trusted(ec.get());
  EXPECT_TRUE(k.Verify("msg", Sign(ec.get(), "msg")));
  EXPECT_FALSE(k.Verify("msg2", Sign(ec.get(), "msg")));
  EXPECT_FALSE(k.Verify("msg", ""));
  EXPECT_FALSE(k.Verify("msg", "\x30\x02\x01"));
}

}  // namespace
}  // namespace berth
