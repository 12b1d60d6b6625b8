// Header-only C++17 SDK over berth/plugin.h (the top half of the hourglass).
//
// A plugin derives from a kind's interface (berth::sdk::StorageDriver,
// AuthBackend, Scanner, ReplicationAdapter, Notifier, PreheatProvider),
// overrides its methods, builds a provider with Make<Kind>Provider<T>(...) and
// declares itself with BERTH_PLUGIN(...). T needs a static factory:
//   static Status Create(const Host&, std::string_view config_json, std::unique_ptr<T>*);
// Every thunk the SDK installs catches all exceptions and turns them into
// BERTH_E_INTERNAL, so no exception ever crosses the C boundary.
#ifndef BERTH_PLUGIN_SDK_HPP_
#define BERTH_PLUGIN_SDK_HPP_

#include <berth/sdk/core.hpp>
#include <berth/sdk/storage.hpp>
#include <berth/sdk/auth.hpp>
#include <berth/sdk/scanner.hpp>
#include <berth/sdk/replication.hpp>
#include <berth/sdk/notifier.hpp>
#include <berth/sdk/preheat.hpp>

#endif  // BERTH_PLUGIN_SDK_HPP_
