using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations
{
    /// <inheritdoc />
    public partial class HoldsAndSkips : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "VersionSkips",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    WorkloadId = table.Column<string>(type: "TEXT", maxLength: 600, nullable: false),
                    Version = table.Column<string>(type: "TEXT", maxLength: 300, nullable: false),
                    Reason = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    SkippedBy = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    SkippedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_VersionSkips", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "WorkloadHolds",
                columns: table => new
                {
                    WorkloadId = table.Column<string>(type: "TEXT", maxLength: 600, nullable: false),
                    Reason = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    HeldBy = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    HeldAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    UntilUtc = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_WorkloadHolds", x => x.WorkloadId);
                });

            migrationBuilder.CreateIndex(
                name: "IX_VersionSkips_WorkloadId_Version",
                table: "VersionSkips",
                columns: new[] { "WorkloadId", "Version" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "VersionSkips");

            migrationBuilder.DropTable(
                name: "WorkloadHolds");
        }
    }
}
