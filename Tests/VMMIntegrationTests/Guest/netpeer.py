import socket, sys, time
ifname = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
s.bind((ifname, 0))
s.settimeout(0.5)
mine = s.getsockname()[4]
frame = b'\xff' * 6 + mine + b'\x88\xb5' + b'skiff-net-ping' + b'\0' * 32
deadline = time.time() + 10
while time.time() < deadline:
    s.send(frame)
    try:
        data = s.recv(2048)
    except socket.timeout:
        continue
    if data[14:28] == b'skiff-net-pong' and data[0:6] == mine:
        print("PEER-GOT-PONG from", data[6:12].hex())
        sys.exit(0)
print("PEER-TIMEOUT"); sys.exit(1)
