#pragma once

#include <QString>
#include <QStringList>

struct USpoofChecker;

// The nickname rules of the protocol, and the look-alike check: two nicknames that would
// render the same (another script's letters, full-width forms) share a skeleton.
class NickRules
{
public:
    explicit NickRules(int maxLength = 24);
    ~NickRules();
    NickRules(const NickRules &) = delete;
    NickRules &operator=(const NickRules &) = delete;

    // Trims the spaces at both ends and puts the name in Unicode normal form C.
    static QString normalize(const QString &nick);
    // For a normalized nickname: true when it follows the rules and is not reserved.
    bool isValid(const QString &nick) const;
    // The same, for a caller that holds the nickname's lookAlikeKeys() already.
    bool isValid(const QString &nick, const QStringList &lookAlikeKeys) const;
    // The key under which nicknames compare without regard to case.
    static QString caseKey(const QString &nick);
    // The key under which look-alike nicknames collide.
    QString skeleton(const QString &nick) const;
    // Every key under which the nickname collides with look-alikes: the skeleton, and one
    // more where the letters' case itself is what deceives. Two nicknames look alike when
    // their keys meet.
    QStringList lookAlikeKeys(const QString &nick) const;

private:
    QString confusableSkeleton(const QString &text) const;

    int m_maxLength;
    USpoofChecker *m_checker = nullptr;
    // The look-alike keys of the reserved names.
    QStringList m_reservedKeys;
};
