// Hashes of machine secrets (robot secrets, OIDC CLI secrets): salted
// HMAC-SHA256. These secrets are long and random, so a fast hash is enough
// (as in Harbor); human passwords go through the auth backend's KDF instead.
#ifndef BERTH_AUTH_SECRET_HASH_H_
#define BERTH_AUTH_SECRET_HASH_H_

#include <string>
#include <string_view>

namespace berth {

// "hmac-sha256$<salt hex>$<mac hex>"
std::string HashSecret(std::string_view secret);
// Constant-time comparison; false for a malformed hash.
bool VerifySecret(std::string_view secret, std::string_view hash);
// A random secret of `length` characters from [A-Za-z0-9].
std::string GenerateSecret(size_t length = 32);
// Harbor's rule for robot and user secrets: 8-128 characters with at least
// one uppercase letter, one lowercase letter and one digit.
bool IsStrongSecret(std::string_view secret);

}  // namespace berth

#endif  // BERTH_AUTH_SECRET_HASH_H_
