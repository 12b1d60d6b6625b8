#!/usr/bin/python3
"""The sendfile(2) ceiling for the benchmark: the smallest HTTP server that
answers every GET with one file, sent by os.sendfile, nothing else.

    sendfile_server.py FILE [PORTFILE]

Listens on 127.0.0.1 on a free port, prints "listening on PORT" (and writes
the port to PORTFILE if given), serves until killed. One thread per
connection, Connection: close after each response.
"""
import os
import socket
import sys
import threading


def serve_one(conn, path, size):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
            if len(buf) > 65536:
                return
        method = buf.split(b" ", 1)[0]
        head = (
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        conn.sendall(head)
        if method == b"HEAD":
            return
        with open(path, "rb") as f:
            fd = f.fileno()
            off = 0
            while off < size:
                n = os.sendfile(conn.fileno(), fd, off, min(size - off, 1 << 30))
                if n <= 0:
                    break
                off += n
    except OSError:
        pass
    finally:
        conn.close()


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: sendfile_server.py FILE [PORTFILE]")
    path = sys.argv[1]
    size = os.stat(path).st_size
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    port = srv.getsockname()[1]
    if len(sys.argv) > 2:
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write(str(port))
        os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    print(f"listening on {port}", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve_one, args=(conn, path, size), daemon=True).start()


if __name__ == "__main__":
    main()
