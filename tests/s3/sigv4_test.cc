// storage-s3's SigV4 signer against the worked examples in Amazon S3's
// documentation (Signature Version 4: "GET Object" with a Range header, and
// the presigned-URL example), so signing is checked without any server.
#include <gtest/gtest.h>

#include "s3_client.h"

namespace berth::storage_s3 {
namespace {

S3Endpoint ExampleEndpoint() {
  S3Endpoint ep;
  ep.scheme = "https";
  ep.host = "s3.amazonaws.com";
  ep.bucket = "examplebucket";
  ep.region = "us-east-1";
  ep.access_key = "AKIAIOSFODNN7EXAMPLE";
  ep.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  return ep;
}

constexpr int64_t k20130524 = 1369353600;  // 20130524T000000Z

TEST(SigV4, GetObjectWithRangeMatchesAwsExample) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}};
  S3Client::Sign(ExampleEndpoint(), "GET", "/test.txt", {}, &headers, HexSha256(""), k20130524);
  std::string auth;
  for (const auto& [k, v] : headers) {
    if (k == "Authorization") auth = v;
  }
  EXPECT_EQ(auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, PresignedUrlMatchesAwsExample) {
  S3Client client(ExampleEndpoint());
  EXPECT_EQ(client.Presign("GET", "test.txt", 86400, k20130524),
            "https://examplebucket.s3.amazonaws.com/test.txt"
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4, PathStyleKeepsTheBucketInThePath) {
  S3Endpoint ep = ExampleEndpoint();
  ep.scheme = "http";
  ep.host = "127.0.0.1:8080";
  ep.path_style = true;
  S3Client client(ep);
  std::string url = client.Presign("GET", "a/b-c_d.e", 60, k20130524);
  EXPECT_EQ(url.rfind("http://127.0.0.1:8080/examplebucket/a/b-c_d.e?X-Amz-Algorithm=", 0), 0u)
      << url;
}

TEST(S3Xml, ListingFieldsAndEntities) {
  std::string xml =
      "<ListBucketResult><KeyCount>2</KeyCount><IsTruncated>false</IsTruncated>"
      "<Contents><Key>a&amp;b</Key><Size>3</Size></Contents>"
      "<Contents><Key>c</Key><Size>0</Size></Contents>"
      "<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes></ListBucketResult>";
  EXPECT_EQ(XmlAll(xml, "Key"), (std::vector<std::string>{"a&b", "c"}));
  EXPECT_EQ(XmlBlocks(xml, "Contents").size(), 2u);
  EXPECT_EQ(XmlFirst(xml, "Prefix"), "d/");
  EXPECT_EQ(XmlFirst(xml, "IsTruncated"), "false");
  EXPECT_EQ(ParseTimeNs("Fri, 24 May 2013 00:00:00 GMT"), k20130524 * 1000000000LL);
  EXPECT_EQ(ParseTimeNs("2013-05-24T00:00:00.500Z"), k20130524 * 1000000000LL + 500000000LL);
}

}  // namespace
}  // namespace berth::storage_s3
