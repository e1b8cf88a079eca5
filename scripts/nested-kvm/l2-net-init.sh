#!/bin/sh
# /init of the L2 guest the nested-KVM harness boots with `skiff vm run` (scripts/nested-kvm/l1-init.sh).
# With skiff.disk=1 on the command line: writes a file on /dev/vda (ext4) and reports the vCPUs. Otherwise: eth0 as
# 10.231.0.2, pings L1 (10.231.0.1), then waits until L1's echo request has arrived.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
if grep -q skiff.disk=1 /proc/cmdline; then
  mkdir -p /mnt
  mount -t ext4 /dev/vda /mnt && [ -d /mnt/lost+found ] && echo written-in-l2 > /mnt/proof && umount /mnt &&
    echo "L2-DISK-OK nproc=$(nproc)"
  reboot -f
fi
ip link set lo up
ip link set eth0 up && ip addr add 10.231.0.2/24 dev eth0
i=0
while [ $i -lt 10 ]; do
  if ping -c 1 -W 3 10.231.0.1 >/dev/null 2>&1; then echo L2-PINGED-L1; break; fi
  i=$((i + 1))
done
echo L2-NET-READY
# The InEchos column of the second Icmp: line of /proc/net/snmp.
echos() { awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i; h = 1 } else print $c }' /proc/net/snmp; }
i=0
while [ $i -lt 600 ] && [ "$(echos)" = 0 ]; do
  sleep 0.1
  i=$((i + 1))
done
[ "$(echos)" != 0 ] && echo L2-GOT-PING
reboot -f
