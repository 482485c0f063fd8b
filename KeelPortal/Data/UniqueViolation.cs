using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Data;

/// <summary>
/// "Lost the race": a write refused by a unique index that decides between concurrent callers (one pending approval
/// per workload, one vote per person, one delivery per event and channel). Only that is expected; every other database
/// failure is an error and must propagate.
/// </summary>
public static class UniqueViolation
{
    private const int SqliteConstraintUnique = 2067;
    private const int SqliteConstraintPrimaryKey = 1555;
    private const string PostgresUniqueViolation = "23505";

    public static bool IsUniqueViolation(this DbUpdateException exception) => exception.InnerException switch
    {
        SqliteException sqlite => sqlite.SqliteExtendedErrorCode is SqliteConstraintUnique or SqliteConstraintPrimaryKey,
        DbException other => other.SqlState == PostgresUniqueViolation,
        _ => false,
    };
}
