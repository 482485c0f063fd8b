using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations
{
    /// <inheritdoc />
    public partial class WorkloadChecksAndWrittenSettings : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ApprovalsWritten",
                table: "Workloads",
                type: "TEXT",
                maxLength: 2048,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PolicyWritten",
                table: "Workloads",
                type: "TEXT",
                maxLength: 2048,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "WorkloadChecks",
                columns: table => new
                {
                    WorkloadId = table.Column<string>(type: "TEXT", maxLength: 600, nullable: false),
                    Repository = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    Current = table.Column<string>(type: "TEXT", maxLength: 300, nullable: false),
                    Best = table.Column<string>(type: "TEXT", maxLength: 300, nullable: true),
                    Summary = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false),
                    Error = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    CheckedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    SucceededAtUtc = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_WorkloadChecks", x => new { x.WorkloadId, x.Repository });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "WorkloadChecks");

            migrationBuilder.DropColumn(
                name: "ApprovalsWritten",
                table: "Workloads");

            migrationBuilder.DropColumn(
                name: "PolicyWritten",
                table: "Workloads");
        }
    }
}
