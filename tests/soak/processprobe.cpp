#include "processprobe.h"

#include <QDir>
#include <QFile>

using namespace Qt::StringLiterals;

qint64 ProcessProbe::residentKiB() const
{
    QFile status(u"/proc/%1/status"_s.arg(m_pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    const QList<QByteArray> lines = status.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("VmRSS:")) {
            // "VmRSS:     12345 kB"
            const QList<QByteArray> parts = line.simplified().split(' ');
            return parts.size() >= 2 ? parts.at(1).toLongLong() : -1;
        }
    }
    return -1;
}

int ProcessProbe::openFileDescriptors() const
{
    const QDir fds(u"/proc/%1/fd"_s.arg(m_pid));
    if (!fds.exists())
        return -1;
    return int(fds.entryList(QDir::AllEntries | QDir::System | QDir::NoDotAndDotDot).size());
}
