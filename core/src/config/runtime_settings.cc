#include "config/runtime_settings.h"

namespace berth {

RuntimeSettings RuntimeSettings::FromConfig(const Config& c) {
  RuntimeSettings s;
  s.auth_mode = c.auth.mode;
  s.auth_config_json = c.auth.mode == "db" ? "{}" : c.auth.config_json;
  s.self_registration = c.auth.self_registration;
  s.token_expiration_minutes = c.auth.token_expiration_minutes;
  s.robot_token_duration_days = c.auth.robot_token_duration_days;
  s.robot_name_prefix = c.auth.robot_name_prefix;
  s.project_creation_restriction = c.auth.project_creation_restriction;
  s.storage_per_project = c.quota.storage_per_project;
  s.read_only = c.read_only;
  s.audit_log_forward_endpoint = c.audit.forward_endpoint;
  s.skip_audit_log_database = c.audit.skip_database;
  return s;
}

SettingsSource::SettingsSource(RuntimeSettings initial)
    : current_(std::make_shared<const RuntimeSettings>(std::move(initial))),
      read_only_(current_->read_only) {}

std::shared_ptr<const RuntimeSettings> SettingsSource::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void SettingsSource::Set(RuntimeSettings s) {
  auto next = std::make_shared<const RuntimeSettings>(std::move(s));
  std::lock_guard<std::mutex> lock(mu_);
  read_only_.store(next->read_only, std::memory_order_release);
  current_ = std::move(next);
}

}  // namespace berth
