#pragma once

#include <QtGlobal>

// Reads what Linux shows of one process under /proc: its resident memory and its open file
// descriptors.
class ProcessProbe
{
public:
    explicit ProcessProbe(qint64 pid = 0)
        : m_pid(pid)
    { }

    void setPid(qint64 pid) { m_pid = pid; }
    // VmRSS in KiB, or -1 when the process is gone.
    qint64 residentKiB() const;
    // Entries of /proc/<pid>/fd, or -1 when the process is gone.
    int openFileDescriptors() const;

private:
    qint64 m_pid;
};
