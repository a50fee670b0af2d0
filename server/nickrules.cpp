#include "nickrules.h"

#include "protocol.h"

#include <unicode/uspoof.h>

using namespace Qt::StringLiterals;

NickRules::NickRules(int maxLength)
    : m_maxLength(maxLength)
{
    UErrorCode status = U_ZERO_ERROR;
    m_checker = uspoof_open(&status);
    if (U_FAILURE(status)) {
        m_checker = nullptr;
        return;
    }
    // Only the confusable skeleton is used; the character rules are the protocol's own.
    uspoof_setChecks(m_checker, USPOOF_CONFUSABLE, &status);
}

NickRules::~NickRules()
{
    if (m_checker)
        uspoof_close(m_checker);
}

QString NickRules::normalize(const QString &nick)
{
    return nick.trimmed().normalized(QString::NormalizationForm_C);
}

bool NickRules::isValid(const QString &nick) const
{
    const int length = Protocol::codePointLength(nick);
    if (length < 1 || length > m_maxLength)
        return false;

    const QList<uint> codePoints = nick.toUcs4();
    for (const uint c : codePoints) {
        if (c == u'_' || c == u'-' || c == u'.')
            continue;
        switch (QChar::category(char32_t(c))) {
        case QChar::Letter_Uppercase:
        case QChar::Letter_Lowercase:
        case QChar::Letter_Titlecase:
        case QChar::Letter_Modifier:
        case QChar::Letter_Other:
        case QChar::Number_DecimalDigit:
            continue;
        default:
            return false;
        }
    }

    static const QString reserved[] = {u"server"_s, u"host"_s, u"system"_s, u"admin"_s};
    const QString key = caseKey(nick);
    for (const QString &word : reserved) {
        if (key == word)
            return false;
    }
    return true;
}

QString NickRules::caseKey(const QString &nick)
{
    return nick.toCaseFolded();
}

QString NickRules::skeleton(const QString &nick) const
{
    // Compatibility forms (full-width letters, ligatures) fold first, then case, then the
    // confusables: "ＡLICE", "alice" and "аlice" with a Cyrillic a all meet on one key.
    const QString folded = nick.normalized(QString::NormalizationForm_KC).toCaseFolded();
    return confusableSkeleton(folded).toCaseFolded();
}

QStringList NickRules::lookAlikeKeys(const QString &nick) const
{
    QStringList keys {skeleton(nick)};
    // Case folding first hides that a capital I passes for a small l ("Ian", "lan"); the
    // confusables applied to the name as written catch that.
    const QString asWritten
        = confusableSkeleton(nick.normalized(QString::NormalizationForm_KC)).toCaseFolded();
    if (asWritten != keys.constFirst())
        keys.append(asWritten);
    return keys;
}

QString NickRules::confusableSkeleton(const QString &text) const
{
    if (!m_checker)
        return text;

    UErrorCode status = U_ZERO_ERROR;
    QString out(text.size() * 2 + 8, Qt::Uninitialized);
    const auto source = reinterpret_cast<const UChar *>(text.utf16());
    int32_t length
        = uspoof_getSkeleton(m_checker, 0, source, int32_t(text.size()),
                             reinterpret_cast<UChar *>(out.data()), int32_t(out.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        status = U_ZERO_ERROR;
        out.resize(length);
        length = uspoof_getSkeleton(m_checker, 0, source, int32_t(text.size()),
                                    reinterpret_cast<UChar *>(out.data()), int32_t(out.size()),
                                    &status);
    }
    if (U_FAILURE(status))
        return text;
    out.resize(length);
    return out;
}
