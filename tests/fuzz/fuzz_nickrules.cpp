// Feeds arbitrary text to the nickname rules: normalising, the character rules and the
// look-alike skeleton, which calls into ICU with buffers sized here.

#include "fuzzcheck.h"
#include "nickrules.h"
#include "protocol.h"

#include <QString>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const NickRules rules;

    // Raw UTF-16 reaches the rules as well as decoded UTF-8: a JSON string can carry lone
    // surrogates as \ud800 escapes, which UTF-8 cannot.
    QString inputs[2] = {
        QString::fromUtf8(reinterpret_cast<const char *>(data), qsizetype(size)),
        QString(reinterpret_cast<const QChar *>(data), qsizetype(size / 2)),
    };
    for (const QString &raw : inputs) {
        const QString nick = NickRules::normalize(raw);
        FUZZ_CHECK(nick == nick.trimmed());
        const QString skeleton = rules.skeleton(nick);
        const QString key = NickRules::caseKey(nick);
        FUZZ_CHECK(skeleton == rules.skeleton(nick));
        if (!rules.isValid(nick))
            continue;

        const int length = Protocol::codePointLength(nick);
        FUZZ_CHECK(length >= 1 && length <= 24);
        FUZZ_CHECK(NickRules::normalize(nick) == nick);
        FUZZ_CHECK(NickRules::caseKey(NickRules::normalize(nick)) == key);
        FUZZ_CHECK(!skeleton.isEmpty());
        for (const QChar c : nick)
            FUZZ_CHECK(!c.isSpace());
        FUZZ_CHECK(key != u"admin" && key != u"server" && key != u"host" && key != u"system");
    }
    return 0;
}
