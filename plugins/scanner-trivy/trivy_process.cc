#include "trivy_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

namespace berth::trivy {

namespace {

std::string ReadTail(const std::string& path, size_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  std::streamoff from = size > static_cast<std::streamoff>(max_bytes) ? size - static_cast<std::streamoff>(max_bytes) : 0;
  f.seekg(from);
  std::string s(static_cast<size_t>(size - from), '\0');
  f.read(s.data(), static_cast<std::streamsize>(s.size()));
  return s;
}

// Kills the child's whole process group (and the child, should it have left
// the group), then reaps it.
void KillGroup(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
}

}  // namespace

Status RunProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  std::chrono::milliseconds timeout, const std::atomic<bool>& stop,
                  const std::string& log_path, ProcessResult* out) {
  *out = ProcessResult();
  if (argv.empty()) return Status::InvalidArgument("no command");
  std::vector<char*> av, ev;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : env) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
    sigaddset(&defaults, s);
  }
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: a kill reaches its children
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  bool search = argv[0].find('/') == std::string::npos;
  int rc = search ? posix_spawnp(&pid, argv[0].c_str(), &fa, &attr, av.data(), ev.data())
                  : posix_spawn(&pid, argv[0].c_str(), &fa, &attr, av.data(), ev.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Status::IO("cannot run '" + argv[0] + "': " + std::strerror(rc));
  }

  auto deadline = std::chrono::steady_clock::now() + timeout;
  int wstatus = 0;
  auto nap = std::chrono::milliseconds(5);
  for (;;) {
    pid_t w = ::waitpid(pid, &wstatus, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      KillGroup(pid);
      return Status::Internal(std::string("waitpid: ") + std::strerror(errno));
    }
    if (stop.load() || std::chrono::steady_clock::now() >= deadline) {
      (stop.load() ? out->stopped : out->timed_out) = true;
      KillGroup(pid);
      while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(nap);
    if (nap < std::chrono::milliseconds(100)) nap *= 2;
  }
  // Whatever the child left running in its group goes with it.
  ::kill(-pid, SIGKILL);
  if (WIFEXITED(wstatus)) out->exit_code = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) out->term_signal = WTERMSIG(wstatus);
  out->output = ReadTail(log_path, 8192);
  return {};
}

std::string DescribeEnd(const ProcessResult& r) {
  if (r.timed_out) return "did not finish in time and was killed";
  if (r.stopped) return "was killed: the scanner is shutting down";
  if (r.term_signal != 0) {
    const char* name = strsignal(r.term_signal);
    return "was killed by signal " + std::to_string(r.term_signal) + " (" +
           (name != nullptr ? name : "?") + ")";
  }
  return "exited with status " + std::to_string(r.exit_code);
}

std::string LastLines(const std::string& text, size_t max_lines) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  std::string out;
  size_t from = lines.size() > max_lines ? lines.size() - max_lines : 0;
  for (size_t i = from; i < lines.size(); ++i) {
    if (!out.empty()) out += " | ";
    out += lines[i];
  }
  if (out.size() > 2000) out = "..." + out.substr(out.size() - 2000);
  return out;
}

}  // namespace berth::trivy
