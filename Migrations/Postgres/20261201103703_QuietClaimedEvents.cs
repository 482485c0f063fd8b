using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class QuietClaimedEvents : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // A row written already claimed is the writing replica's own work, started there right after the commit:
            // the other replicas are not woken for it (they read it with the next event, or when its claim runs out).
            // pg_notify folds identical notifications of one transaction into one.
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS keelportal_events_inserted ON "PortalEvents";
                CREATE TRIGGER keelportal_events_inserted AFTER INSERT ON "PortalEvents"
                    FOR EACH ROW WHEN (NEW."ClaimedUntilUtc" IS NULL) EXECUTE FUNCTION keelportal_events_notify();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS keelportal_events_inserted ON "PortalEvents";
                CREATE TRIGGER keelportal_events_inserted AFTER INSERT ON "PortalEvents"
                    FOR EACH STATEMENT EXECUTE FUNCTION keelportal_events_notify();
                """);
        }
    }
}
